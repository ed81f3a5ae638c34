// BLAKE3 hashing (plain, keyed and key-derivation modes, extendable output).
//
// Written from the BLAKE3 specification. The tree is built incrementally:
// full 1 KiB chunks are compressed in batches (8 chunks in parallel with AVX2
// when the CPU supports it), and the chaining values of completed subtrees
// are kept on a stack that is merged lazily.
// Thread-safety: Blake3Hasher is a copyable value type; const methods may run
// concurrently, Update()/Reset() need exclusive access.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace cellar::hash {

inline constexpr size_t kBlake3OutLen = 32;
inline constexpr size_t kBlake3KeyLen = 32;

class Blake3Hasher {
 public:
  // Plain hash mode.
  Blake3Hasher();
  // Keyed hash mode (MAC / PRF).
  static Blake3Hasher Keyed(std::span<const uint8_t, kBlake3KeyLen> key);
  // Key derivation mode: `context` should be a hardcoded, globally unique,
  // application-specific string; feed the key material with Update().
  static Blake3Hasher DeriveKey(std::string_view context);

  void Update(const void* data, size_t len);
  void Update(std::span<const std::byte> data);

  // Writes out.size() bytes of output (any length). Does not modify the
  // state: more input may be added afterwards.
  void Finalize(std::span<uint8_t> out) const;
  // Like Finalize(), but the output starts at byte `offset` of the stream.
  void FinalizeSeek(uint64_t offset, std::span<uint8_t> out) const;
  std::array<uint8_t, kBlake3OutLen> Finalize() const;

  // Back to the initial state, keeping the mode and key.
  void Reset();

 private:
  static constexpr size_t kChunkLen = 1024;
  static constexpr size_t kCvLen = 32;
  // popcount(chunk count) <= 54 for any 64-bit length, plus at most two
  // entries pushed before a lazy merge.
  static constexpr size_t kMaxStack = 57;

  Blake3Hasher(const uint32_t key[8], uint8_t flags);

  // Hashes `n` full chunks (pointers to 1024 bytes each) and pushes the
  // resulting subtrees. `input_ends` tells that no more bytes are buffered.
  void HashChunks(const uint8_t* const* chunks, size_t n, bool input_ends);
  void PushCv(const uint8_t cv[kCvLen], uint64_t num_chunks);
  void MergeStackTo(size_t entries);

  uint32_t key_[8];
  uint8_t flags_;
  uint8_t stack_len_ = 0;
  uint16_t buf_len_ = 0;
  // Number of chunks already folded into the stack; also the index of the
  // chunk currently held in buf_.
  uint64_t chunk_counter_ = 0;
  // Chaining values, oldest first, 32 bytes each; adjacent entries form a
  // parent block.
  alignas(32) uint8_t stack_[kMaxStack * kCvLen];
  alignas(32) uint8_t buf_[kChunkLen];
};

// One-shot plain BLAKE3 hash.
std::array<uint8_t, kBlake3OutLen> Blake3(std::span<const std::byte> data);

// Compression backend chosen at run time: "avx512", "avx2" or "portable".
std::string_view Blake3Backend();

// Test hook: use no backend better than `backend` ("portable" or "avx2"), or
// restore the automatic choice with "".
void Blake3LimitBackendForTest(std::string_view backend);

}  // namespace cellar::hash
