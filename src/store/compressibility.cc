#include "store/compressibility.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace cellar::store {
namespace {

// Below this the histogram of 256 symbols is too noisy to trust, and zstd
// on so few bytes is cheap anyway.
constexpr size_t kMinJudgedSize = 4096;
// Sampled from evenly spaced windows, so a compressible header followed by
// compressed payload (a tar of binaries) is noticed.
constexpr size_t kSampleWindows = 4;
constexpr size_t kWindowSize = 4096;
// FsBlobWriter keeps a compressed blob only when it saves 10%, i.e. reaches
// 7.2 bits per byte, and entropy coding cannot go below the entropy. The
// 0.1 bit margin covers the estimate's noise on a 4 KiB window (random bytes
// measure about 7.95).
constexpr double kIncompressibleBits = 7.3;

}  // namespace

double ByteEntropyBits(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return 0;
  std::array<uint32_t, 256> counts{};
  for (uint8_t b : bytes) ++counts[b];
  const double n = static_cast<double>(bytes.size());
  double bits = 0;
  for (uint32_t c : counts) {
    if (c == 0) continue;
    const double p = c / n;
    bits -= p * std::log2(p);
  }
  return bits;
}

bool LooksIncompressible(std::span<const uint8_t> probe) {
  if (probe.size() < kMinJudgedSize) return false;
  const size_t windows = probe.size() >= kSampleWindows * kWindowSize ? kSampleWindows : 1;
  const size_t stride = probe.size() / windows;
  for (size_t w = 0; w < windows; ++w) {
    // Judged window by window: zstd codes each block on its own, so one
    // compressible stretch can pay even when the mix's entropy is high.
    if (ByteEntropyBits(probe.subspan(w * stride, std::min(kWindowSize, stride))) <
        kIncompressibleBits) {
      return false;
    }
  }
  return true;
}

}  // namespace cellar::store
