// npm integrity checks: Subresource Integrity strings ("sha512-<base64>",
// possibly several, space-separated) from dist.integrity, or the legacy
// dist.shasum (SHA-1 hex). A tarball is verified while it streams in and is
// stored only when it matches (npm refuses a mismatch with EINTEGRITY
// anyway; cellar refuses to keep one).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/verifier.h"

namespace cellar::npm {

struct ExpectedDigest {
  std::string algorithm;        // "sha512", "sha384", "sha256" or "sha1"
  std::vector<uint8_t> digest;  // raw bytes
  std::string text;             // as written, for messages ("sha512-...")
};

// The strongest supported hash of an SRI string, else nullopt.
std::optional<ExpectedDigest> ParseIntegrity(std::string_view sri);
// "sha1" from a 40-hex-digit shasum, else nullopt.
std::optional<ExpectedDigest> ParseShasum(std::string_view hex);

// Verifies streamed bytes against one expected digest; a mismatch fails
// with kCorruption naming both values.
std::unique_ptr<core::Verifier> MakeIntegrityVerifier(ExpectedDigest expected, std::string what);

// "sha512-<base64>" of `data` (tests and messages).
std::string ComputeSri(std::string_view algorithm, std::string_view data);

}  // namespace cellar::npm
