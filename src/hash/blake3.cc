// BLAKE3 tree hashing: chunk batching, the chaining-value stack and output.
#include "hash/blake3.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cstring>

#include "hash/blake3_internal.h"

namespace cellar::hash {
namespace internal {
namespace {

// Backends in order of preference; a CPU that has one has those below it.
enum Level : int { kPortableLevel = 0, kAvx2Level = 1, kAvx512Level = 2 };

// Test hook: the best level tests allow (kAvx512Level: no limit).
std::atomic<int> g_level_cap{kAvx512Level};

int DetectLevel() {
#if defined(__x86_64__) || defined(__i386__)
  if (kAvx512KernelCompiled && kAvx2KernelCompiled && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx2")) {
    return kAvx512Level;
  }
  if (kAvx2KernelCompiled && __builtin_cpu_supports("avx2")) return kAvx2Level;
#endif
  return kPortableLevel;
}

int ActiveLevel() {
  static const int kDetected = DetectLevel();
  return std::min(kDetected, g_level_cap.load(std::memory_order_relaxed));
}

}  // namespace

bool HaveAvx2() { return ActiveLevel() >= kAvx2Level; }

void HashMany(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
              const uint32_t key[8], uint64_t counter, bool increment_counter,
              uint8_t flags, uint8_t flags_start, uint8_t flags_end,
              uint8_t* out) {
  const int level = ActiveLevel();
  if (level == kPortableLevel) {
    HashManyPortable(inputs, num_inputs, blocks, key, counter,
                     increment_counter, flags, flags_start, flags_end, out);
    return;
  }
  if (level == kAvx512Level) {
    for (; num_inputs >= 16; num_inputs -= 16) {
      HashMany16Avx512(inputs, blocks, key, counter, increment_counter, flags,
                       flags_start, flags_end, out);
      inputs += 16;
      out += 16 * kCvLen;
      if (increment_counter) counter += 16;
    }
  }
  for (; num_inputs >= 8; num_inputs -= 8) {
    HashMany8Avx2(inputs, blocks, key, counter, increment_counter, flags,
                  flags_start, flags_end, out);
    inputs += 8;
    out += 8 * kCvLen;
    if (increment_counter) counter += 8;
  }
  if (num_inputs >= 2) {
    // One 8-lane pass is cheaper than two or more scalar compressions: pad
    // the unused lanes with the last input and drop their outputs.
    const uint8_t* padded[8];
    for (size_t i = 0; i < 8; ++i)
      padded[i] = inputs[std::min(i, num_inputs - 1)];
    alignas(32) uint8_t tmp[8 * kCvLen];
    HashMany8Avx2(padded, blocks, key, counter, increment_counter, flags,
                  flags_start, flags_end, tmp);
    std::memcpy(out, tmp, num_inputs * kCvLen);
  } else if (num_inputs == 1) {
    HashManyPortable(inputs, 1, blocks, key, counter, increment_counter, flags,
                     flags_start, flags_end, out);
  }
}

}  // namespace internal

namespace {

using namespace internal;

// Chunks hashed per batch in Update(); a multiple of 16 for the vector kernels.
constexpr size_t kBatchChunks = 64;

void WordsToBytes(const uint32_t w[8], uint8_t out[kCvLen]) {
  for (int i = 0; i < 8; ++i) {
    uint32_t x = w[i];
    if constexpr (std::endian::native == std::endian::big)
      x = __builtin_bswap32(x);
    std::memcpy(out + 4 * i, &x, 4);
  }
}

void BytesToWords(const uint8_t* in, uint32_t w[8]) {
  for (int i = 0; i < 8; ++i) {
    std::memcpy(&w[i], in + 4 * i, 4);
    if constexpr (std::endian::native == std::endian::big)
      w[i] = __builtin_bswap32(w[i]);
  }
}

// Chaining value of the parent whose 64-byte block (left CV || right CV)
// starts at `children`; written over the left CV.
void MergeInPlace(uint8_t* children, const uint32_t key[8], uint8_t flags) {
  uint32_t cv[8];
  std::memcpy(cv, key, sizeof(cv));
  CompressInPlace(cv, children, kBlockLen, 0, flags | kParent);
  WordsToBytes(cv, children);
}

// Lazy merging: pops and merges the top two entries until `target` remain.
void MergeStack(uint8_t* stack, size_t& len, size_t target,
                const uint32_t key[8], uint8_t flags) {
  while (len > target) {
    MergeInPlace(stack + (len - 2) * kCvLen, key, flags);
    --len;
  }
}

// Reduces `count` (a power of two) adjacent CVs, level by level, to `target`.
void ReduceCvs(uint8_t* cvs, size_t count, size_t target, const uint32_t key[8],
               uint8_t flags) {
  const uint8_t* parents[kBatchChunks / 2];
  alignas(32) uint8_t tmp[kBatchChunks / 2 * kCvLen];
  while (count > target) {
    count /= 2;
    for (size_t j = 0; j < count; ++j) parents[j] = cvs + 2 * kCvLen * j;
    HashMany(parents, count, 1, key, 0, false, flags | kParent, 0, 0, tmp);
    std::memcpy(cvs, tmp, count * kCvLen);
  }
}

// Inputs of the compression that produces some node's output; running it with
// the ROOT flag and successive counters yields the extendable output.
struct Output {
  uint32_t cv[8];
  uint8_t block[kBlockLen];
  uint8_t block_len;
  uint8_t flags;
  uint64_t counter;

  void ChainingValue(uint8_t out[kCvLen]) const {
    uint32_t w[8];
    std::memcpy(w, cv, sizeof(w));
    CompressInPlace(w, block, block_len, counter, flags);
    WordsToBytes(w, out);
  }

  void RootBytes(uint64_t offset, std::span<uint8_t> out) const {
    uint64_t block_index = offset / kBlockLen;
    size_t skip = offset % kBlockLen;
    size_t pos = 0;
    while (pos < out.size()) {
      uint32_t words[16];
      CompressXof(cv, block, block_len, block_index, flags | kRoot, words);
      uint8_t bytes[kBlockLen];
      WordsToBytes(words, bytes);
      WordsToBytes(words + 8, bytes + kCvLen);
      const size_t take = std::min(kBlockLen - skip, out.size() - pos);
      std::memcpy(out.data() + pos, bytes + skip, take);
      pos += take;
      skip = 0;
      ++block_index;
    }
  }
};

Output ParentOutput(const uint8_t* children, const uint32_t key[8],
                    uint8_t flags) {
  Output o;
  std::memcpy(o.cv, key, sizeof(o.cv));
  std::memcpy(o.block, children, kBlockLen);
  o.block_len = kBlockLen;
  o.flags = flags | kParent;
  o.counter = 0;
  return o;
}

// Output of a chunk of `len` <= 1024 bytes: all blocks but the last are
// compressed here.
Output ChunkOutput(const uint8_t* data, size_t len, uint64_t counter,
                   const uint32_t key[8], uint8_t flags) {
  Output o;
  std::memcpy(o.cv, key, sizeof(o.cv));
  const size_t blocks = len == 0 ? 1 : (len + kBlockLen - 1) / kBlockLen;
  for (size_t b = 0; b + 1 < blocks; ++b) {
    CompressInPlace(o.cv, data + b * kBlockLen, kBlockLen, counter,
                    flags | (b == 0 ? kChunkStart : 0));
  }
  const size_t last = len - (blocks - 1) * kBlockLen;
  std::memset(o.block, 0, sizeof(o.block));
  if (last > 0) std::memcpy(o.block, data + (blocks - 1) * kBlockLen, last);
  o.block_len = static_cast<uint8_t>(last);
  o.flags = flags | kChunkEnd | (blocks == 1 ? kChunkStart : 0);
  o.counter = counter;
  return o;
}

}  // namespace

Blake3Hasher::Blake3Hasher() : Blake3Hasher(kIv, 0) {}

Blake3Hasher::Blake3Hasher(const uint32_t key[8], uint8_t flags)
    : flags_(flags) {
  std::memcpy(key_, key, sizeof(key_));
}

Blake3Hasher Blake3Hasher::Keyed(std::span<const uint8_t, kBlake3KeyLen> key) {
  uint32_t words[8];
  BytesToWords(key.data(), words);
  return Blake3Hasher(words, kKeyedHash);
}

Blake3Hasher Blake3Hasher::DeriveKey(std::string_view context) {
  Blake3Hasher context_hasher(kIv, kDeriveKeyContext);
  context_hasher.Update(context.data(), context.size());
  const std::array<uint8_t, kBlake3OutLen> context_key =
      context_hasher.Finalize();
  uint32_t words[8];
  BytesToWords(context_key.data(), words);
  return Blake3Hasher(words, kDeriveKeyMaterial);
}

void Blake3Hasher::Reset() {
  stack_len_ = 0;
  buf_len_ = 0;
  chunk_counter_ = 0;
}

void Blake3Hasher::Update(std::span<const std::byte> data) {
  Update(data.data(), data.size());
}

void Blake3Hasher::Update(const void* data, size_t len) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  if (len == 0) return;
  if (buf_len_ > 0 && buf_len_ < kChunkLen) {
    const size_t take = std::min(len, kChunkLen - buf_len_);
    std::memcpy(buf_ + buf_len_, p, take);
    buf_len_ += take;
    p += take;
    len -= take;
    if (len == 0) return;
  }
  // Now buf_ is empty, or holds a full chunk that more input follows.
  // Whole chunks are hashed straight from the caller's memory.
  while (true) {
    const uint8_t* chunks[kBatchChunks];
    size_t n = 0;
    if (buf_len_ == kChunkLen) chunks[n++] = buf_;
    size_t from_input = std::min(len / kChunkLen, kBatchChunks - n);
    // A lone first chunk could be the whole input, hashed as the root with
    // different flags: keep it buffered until we know.
    if (n == 0 && chunk_counter_ == 0 && len == kChunkLen) from_input = 0;
    for (size_t i = 0; i < from_input; ++i) chunks[n++] = p + i * kChunkLen;
    if (n == 0) break;
    p += from_input * kChunkLen;
    len -= from_input * kChunkLen;
    HashChunks(chunks, n, len == 0);
    buf_len_ = 0;
    if (len < kChunkLen) break;
  }
  if (len > 0) {
    std::memcpy(buf_, p, len);
    buf_len_ = static_cast<uint16_t>(len);
  }
}

void Blake3Hasher::HashChunks(const uint8_t* const* chunks, size_t n,
                              bool input_ends) {
  assert(n <= kBatchChunks);
  alignas(32) uint8_t cvs[kBatchChunks * kCvLen];
  HashMany(chunks, n, kBlocksPerChunk, key_, chunk_counter_, true, flags_,
           kChunkStart, kChunkEnd, cvs);
  // Split [chunk_counter_, chunk_counter_ + n) into complete subtrees: each
  // the largest power of two that fits and is aligned to its position.
  size_t i = 0;
  while (i < n) {
    uint64_t size = std::bit_floor(n - i);
    if (chunk_counter_ != 0)
      size = std::min(size, chunk_counter_ & (~chunk_counter_ + 1));
    uint8_t* sub = cvs + i * kCvLen;
    if (chunk_counter_ == 0 && input_ends && i + size == n && size > 1) {
      // This subtree is the whole input so far, and its top node would be
      // the root. Push its two halves instead, so that Finalize() can
      // compress the top node with the ROOT flag.
      ReduceCvs(sub, size, 2, key_, flags_);
      PushCv(sub, size / 2);
      PushCv(sub + kCvLen, size / 2);
    } else {
      ReduceCvs(sub, size, 1, key_, flags_);
      PushCv(sub, size);
    }
    i += size;
  }
}

void Blake3Hasher::PushCv(const uint8_t cv[kCvLen], uint64_t num_chunks) {
  // Merge what the previous push left unmerged: the stack then holds one
  // complete subtree per set bit of chunk_counter_.
  MergeStackTo(std::popcount(chunk_counter_));
  assert(stack_len_ < kMaxStack);
  std::memcpy(stack_ + stack_len_ * kCvLen, cv, kCvLen);
  ++stack_len_;
  chunk_counter_ += num_chunks;
}

void Blake3Hasher::MergeStackTo(size_t entries) {
  size_t len = stack_len_;
  MergeStack(stack_, len, entries, key_, flags_);
  stack_len_ = static_cast<uint8_t>(len);
}

void Blake3Hasher::FinalizeSeek(uint64_t offset, std::span<uint8_t> out) const {
  if (out.empty()) return;
  alignas(32) uint8_t stack[kMaxStack * kCvLen];
  size_t n = stack_len_;
  std::memcpy(stack, stack_, n * kCvLen);
  Output o;
  if (buf_len_ > 0 || chunk_counter_ == 0) {
    // The buffered chunk is the rightmost leaf.
    MergeStack(stack, n, std::popcount(chunk_counter_), key_, flags_);
    o = ChunkOutput(buf_, buf_len_, chunk_counter_, key_, flags_);
  } else {
    // Input ended on a chunk boundary: the top two entries are the last
    // subtrees (see HashChunks), and their parent is the rightmost node.
    assert(n >= 2);
    n -= 2;
    o = ParentOutput(stack + n * kCvLen, key_, flags_);
  }
  // Fold the stack right to left; each entry is a left sibling.
  while (n > 0) {
    --n;
    uint8_t block[kBlockLen];
    std::memcpy(block, stack + n * kCvLen, kCvLen);
    o.ChainingValue(block + kCvLen);
    o = ParentOutput(block, key_, flags_);
  }
  o.RootBytes(offset, out);
}

void Blake3Hasher::Finalize(std::span<uint8_t> out) const {
  FinalizeSeek(0, out);
}

std::array<uint8_t, kBlake3OutLen> Blake3Hasher::Finalize() const {
  std::array<uint8_t, kBlake3OutLen> out;
  FinalizeSeek(0, out);
  return out;
}

std::array<uint8_t, kBlake3OutLen> Blake3(std::span<const std::byte> data) {
  Blake3Hasher hasher;
  hasher.Update(data);
  return hasher.Finalize();
}

std::string_view Blake3Backend() {
  switch (internal::ActiveLevel()) {
    case internal::kAvx512Level:
      return "avx512";
    case internal::kAvx2Level:
      return "avx2";
    default:
      return "portable";
  }
}

void Blake3LimitBackendForTest(std::string_view backend) {
  int cap = internal::kAvx512Level;
  if (backend == "portable") cap = internal::kPortableLevel;
  if (backend == "avx2") cap = internal::kAvx2Level;
  internal::g_level_cap.store(cap, std::memory_order_relaxed);
}

}  // namespace cellar::hash
