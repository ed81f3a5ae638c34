// Portable (plain C++) BLAKE3 compression function.
#include <bit>
#include <cstring>

#include "hash/blake3_internal.h"

namespace cellar::hash::internal {
namespace {

inline uint32_t Load32(const uint8_t* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  if constexpr (std::endian::native == std::endian::big)
    w = __builtin_bswap32(w);
  return w;
}

inline void Store32(uint8_t* p, uint32_t w) {
  if constexpr (std::endian::native == std::endian::big)
    w = __builtin_bswap32(w);
  std::memcpy(p, &w, 4);
}

// The quarter-round mixing function G.
#define CELLAR_B3_G(a, b, c, d, x, y) \
  do {                                \
    a = a + b + (x);                  \
    d = std::rotr(d ^ a, 16);         \
    c = c + d;                        \
    b = std::rotr(b ^ c, 12);         \
    a = a + b + (y);                  \
    d = std::rotr(d ^ a, 8);          \
    c = c + d;                        \
    b = std::rotr(b ^ c, 7);          \
  } while (0)

template <int R>
inline __attribute__((always_inline)) void Round(uint32_t v[16],
                                                 const uint32_t m[16]) {
  constexpr const uint8_t* s = kSchedule.idx[R];
  // Columns.
  CELLAR_B3_G(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);
  CELLAR_B3_G(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);
  CELLAR_B3_G(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);
  CELLAR_B3_G(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);
  // Diagonals.
  CELLAR_B3_G(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);
  CELLAR_B3_G(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);
  CELLAR_B3_G(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);
  CELLAR_B3_G(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);
}

#undef CELLAR_B3_G

// Runs the 7 rounds; leaves the raw state in v (before the output XORs).
inline __attribute__((always_inline)) void Rounds(
    const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
    uint64_t counter, uint8_t flags, uint32_t v[16]) {
  uint32_t m[16];
  for (int i = 0; i < 16; ++i) m[i] = Load32(block + 4 * i);
  for (int i = 0; i < 8; ++i) v[i] = cv[i];
  for (int i = 0; i < 4; ++i) v[8 + i] = kIv[i];
  v[12] = static_cast<uint32_t>(counter);
  v[13] = static_cast<uint32_t>(counter >> 32);
  v[14] = block_len;
  v[15] = flags;
  Round<0>(v, m);
  Round<1>(v, m);
  Round<2>(v, m);
  Round<3>(v, m);
  Round<4>(v, m);
  Round<5>(v, m);
  Round<6>(v, m);
}

}  // namespace

void CompressXof(const uint32_t cv[8], const uint8_t block[kBlockLen],
                 uint8_t block_len, uint64_t counter, uint8_t flags,
                 uint32_t out[16]) {
  uint32_t v[16];
  Rounds(cv, block, block_len, counter, flags, v);
  for (int i = 0; i < 8; ++i) {
    out[i] = v[i] ^ v[i + 8];
    out[i + 8] = v[i + 8] ^ cv[i];
  }
}

void CompressInPlace(uint32_t cv[8], const uint8_t block[kBlockLen],
                     uint8_t block_len, uint64_t counter, uint8_t flags) {
  uint32_t v[16];
  Rounds(cv, block, block_len, counter, flags, v);
  for (int i = 0; i < 8; ++i) cv[i] = v[i] ^ v[i + 8];
}

void HashManyPortable(const uint8_t* const* inputs, size_t num_inputs,
                      size_t blocks, const uint32_t key[8], uint64_t counter,
                      bool increment_counter, uint8_t flags,
                      uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  for (size_t i = 0; i < num_inputs; ++i) {
    uint32_t cv[8];
    std::memcpy(cv, key, sizeof(cv));
    const uint64_t input_counter = counter + (increment_counter ? i : 0);
    const uint8_t* block = inputs[i];
    for (size_t b = 0; b < blocks; ++b, block += kBlockLen) {
      uint8_t block_flags = flags;
      if (b == 0) block_flags |= flags_start;
      if (b + 1 == blocks) block_flags |= flags_end;
      CompressInPlace(cv, block, kBlockLen, input_counter, block_flags);
    }
    for (int w = 0; w < 8; ++w) Store32(out + 32 * i + 4 * w, cv[w]);
  }
}

}  // namespace cellar::hash::internal
