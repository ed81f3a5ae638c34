#include "base/digest.h"

namespace cellar {

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
}  // namespace

std::string ToHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (HexValue(c) < 0) return false;
  }
  return true;
}

std::string Digest::Hex() const { return ToHex(bytes); }

Result<Digest> Digest::FromHex(std::string_view hex) {
  if (hex.size() != 64 || !IsLowerHex(hex)) {
    return Status::InvalidArgument("digest must be 64 lowercase hex characters");
  }
  Digest d;
  for (size_t i = 0; i < 32; ++i) {
    d.bytes[i] = static_cast<uint8_t>(HexValue(hex[2 * i]) << 4 | HexValue(hex[2 * i + 1]));
  }
  return d;
}

}  // namespace cellar
