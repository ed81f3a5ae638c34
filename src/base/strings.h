// Small string helpers used across layers (no I/O, no allocation surprises).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cellar {

std::vector<std::string_view> SplitView(std::string_view s, char sep);
std::string_view TrimWhitespace(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLower(std::string_view s);

// Replaces runs of '/' with one '/' (turbo and Nx glue base URLs and paths).
std::string CollapseSlashes(std::string_view path);

// Decodes %XX escapes. Returns nullopt on a malformed escape. When
// `allow_encoded_slash` is false, "%2f"/"%2F" (and an encoded NUL) is rejected.
std::optional<std::string> PercentDecode(std::string_view s, bool allow_encoded_slash);

// Parses a non-negative decimal integer that fits in uint64_t; no sign, no spaces.
std::optional<uint64_t> ParseUint64(std::string_view s);

// Parses sizes such as "512", "64KiB", "10MB", "20GiB", "1T" (binary units).
std::optional<uint64_t> ParseByteSize(std::string_view s);
// Parses durations such as "30s", "5m", "2h", "7d", "250ms"; a bare number is seconds.
std::optional<int64_t> ParseDurationMs(std::string_view s);

// Escapes a string for inclusion inside a JSON string literal.
std::string JsonEscape(std::string_view s);

// Escapes &, <, >, " and ' for XML text and attribute values.
std::string XmlEscape(std::string_view s);

// Constant-time comparison of two secrets (length leaks, content does not).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace cellar
