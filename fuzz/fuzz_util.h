// Helpers shared by the libFuzzer targets in this directory.
// FUZZ_CHECK states an invariant the parser under test promises; a broken
// one aborts, so libFuzzer records the input like any crash. Targets never
// check what a parser does not promise: odd but valid input must pass.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace cellar::fuzz {

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Targets that cover several parsers read the first byte as a digit
// ('0', '1', ...) choosing one, so seed files stay readable text.
inline unsigned Mode(uint8_t first, unsigned parsers) {
  return static_cast<uint8_t>(first - '0') % parsers;
}

// Splits the input at '\n' into at most `max` fields (the last one keeps any
// further newlines), so one input can carry several parameters.
inline std::vector<std::string_view> Fields(std::string_view s, size_t max) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max) {
    size_t nl = s.find('\n');
    if (nl == std::string_view::npos) break;
    out.push_back(s.substr(0, nl));
    s.remove_prefix(nl + 1);
  }
  out.push_back(s);
  return out;
}

// True when no '/'-separated segment of `path` is "." or "..".
inline bool HasNoDotSegments(std::string_view path) {
  while (true) {
    size_t slash = path.find('/');
    std::string_view seg = path.substr(0, slash);
    if (seg == "." || seg == "..") return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

}  // namespace cellar::fuzz
