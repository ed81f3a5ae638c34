// Base64 in both alphabets: standard (RFC 4648 section 4) and URL-safe
// (section 5). Bazel encodes Basic auth with the URL-safe one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cellar {

std::string Base64Encode(std::string_view data);
std::string Base64UrlEncode(std::string_view data);  // no padding
// Accepts either alphabet, with or without '=' padding. nullopt when malformed.
std::optional<std::string> Base64DecodeAny(std::string_view text);

}  // namespace cellar
