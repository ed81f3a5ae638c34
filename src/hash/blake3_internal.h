// Internal definitions shared by the BLAKE3 sources.
//
// NOTE: blake3_avx2.cc and blake3_avx512.cc are compiled with -mavx2 and
// -mavx512f and include this header. Keep it free of inline *functions* (and
// of standard headers that define them): the linker could otherwise keep a
// vector-compiled copy of an inline function for the whole program and crash
// CPUs without those instructions. constexpr data is fine.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cellar::hash::internal {

inline constexpr size_t kBlockLen = 64;
inline constexpr size_t kChunkLen = 1024;
inline constexpr size_t kBlocksPerChunk = kChunkLen / kBlockLen;
inline constexpr size_t kCvLen = 32;

// Domain separation flags (BLAKE3 spec, table 3).
enum : uint8_t {
  kChunkStart = 1 << 0,
  kChunkEnd = 1 << 1,
  kParent = 1 << 2,
  kRoot = 1 << 3,
  kKeyedHash = 1 << 4,
  kDeriveKeyContext = 1 << 5,
  kDeriveKeyMaterial = 1 << 6,
};

// Same constants as the SHA-256 initial hash value.
inline constexpr uint32_t kIv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372,
                                    0xA54FF53A, 0x510E527F, 0x9B05688C,
                                    0x1F83D9AB, 0x5BE0CD19};

// kSchedule[r][i]: index of the original message word used as word i in
// round r, i.e. the message permutation applied r times.
struct Schedule {
  uint8_t idx[7][16];
};
inline constexpr Schedule kSchedule = [] {
  constexpr uint8_t kPermutation[16] = {2, 6,  3,  10, 7, 0,  4,  13,
                                        1, 11, 12, 5,  9, 14, 15, 8};
  Schedule s{};
  for (uint8_t i = 0; i < 16; ++i) s.idx[0][i] = i;
  for (int r = 1; r < 7; ++r) {
    for (int i = 0; i < 16; ++i) s.idx[r][i] = s.idx[r - 1][kPermutation[i]];
  }
  return s;
}();

// Compresses one block and returns the full 16-word state after the rounds
// and the output XORs (words 0..7 form the new chaining value, words 8..15
// the extended output half).
void CompressXof(const uint32_t cv[8], const uint8_t block[kBlockLen],
                 uint8_t block_len, uint64_t counter, uint8_t flags,
                 uint32_t out[16]);
// Compresses one block and replaces `cv` with the new chaining value.
void CompressInPlace(uint32_t cv[8], const uint8_t block[kBlockLen],
                     uint8_t block_len, uint64_t counter, uint8_t flags);

// Hashes `num_inputs` inputs of `blocks` full blocks each, one after another
// (a chunk: blocks = 16, a parent: blocks = 1). Input i uses counter
// `counter + i` if `increment_counter`, else `counter`. The first block gets
// `flags | flags_start`, the last `flags | flags_end`. Writes the 32-byte
// little-endian chaining values to out[32 * i].
void HashManyPortable(const uint8_t* const* inputs, size_t num_inputs,
                      size_t blocks, const uint32_t key[8], uint64_t counter,
                      bool increment_counter, uint8_t flags,
                      uint8_t flags_start, uint8_t flags_end, uint8_t* out);

// AVX2 kernel: exactly 8 inputs, same contract as HashManyPortable.
void HashMany8Avx2(const uint8_t* const* inputs, size_t blocks,
                   const uint32_t key[8], uint64_t counter,
                   bool increment_counter, uint8_t flags, uint8_t flags_start,
                   uint8_t flags_end, uint8_t* out);

// AVX-512 kernel: exactly 16 inputs, same contract as HashManyPortable.
void HashMany16Avx512(const uint8_t* const* inputs, size_t blocks,
                      const uint32_t key[8], uint64_t counter,
                      bool increment_counter, uint8_t flags,
                      uint8_t flags_start, uint8_t flags_end, uint8_t* out);

// Dispatches to the best available backend.
void HashMany(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
              const uint32_t key[8], uint64_t counter, bool increment_counter,
              uint8_t flags, uint8_t flags_start, uint8_t flags_end,
              uint8_t* out);

// Whether blake3_avx2.cc was built with AVX2 enabled (false on other
// architectures, where HashMany8Avx2 falls back to the portable code).
extern const bool kAvx2KernelCompiled;

// Whether blake3_avx512.cc was built with AVX-512F enabled.
extern const bool kAvx512KernelCompiled;

// True when the AVX2 kernel was compiled in and the CPU supports it.
bool HaveAvx2();

}  // namespace cellar::hash::internal
