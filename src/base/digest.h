// Digest: a 32-byte content hash (BLAKE3-256 for blob names, SHA-256 where a
// protocol names content by SHA-256), plus hex helpers.
// Thread-safety: value type.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cellar {

struct Digest {
  std::array<uint8_t, 32> bytes{};

  std::string Hex() const;
  // Parses exactly 64 lowercase hex characters.
  static Result<Digest> FromHex(std::string_view hex);

  auto operator<=>(const Digest&) const = default;
};

// Lowercase hex of arbitrary bytes.
std::string ToHex(std::span<const uint8_t> bytes);
bool IsLowerHex(std::string_view s);

}  // namespace cellar

template <>
struct std::hash<cellar::Digest> {
  size_t operator()(const cellar::Digest& d) const noexcept {
    size_t h;
    static_assert(sizeof(h) <= 32);
    __builtin_memcpy(&h, d.bytes.data(), sizeof(h));
    return h;
  }
};
