// A cheap guess, before any compressor runs, at whether bytes can shrink.
// Used by FsBlobWriter to skip zstd for data that is already compressed
// (tarballs, zips, build artifacts): trying zstd on such a probe used to cost
// about a fifth of a PUT's CPU while saving nothing.
#pragma once

#include <cstdint>
#include <span>

namespace cellar::store {

// Order-0 (byte histogram) entropy of `bytes`, in bits per byte (0 to 8).
double ByteEntropyBits(std::span<const uint8_t> bytes);

// True when `probe` is large enough to judge and its byte entropy is so
// close to 8 bits that entropy coding alone cannot save 10%. Only long
// repeats could still shrink such data, which compressed formats rule out;
// the rare exception is stored raw, which costs space, never correctness.
bool LooksIncompressible(std::span<const uint8_t> probe);

}  // namespace cellar::store
