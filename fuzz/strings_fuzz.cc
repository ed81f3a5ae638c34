// The string parsers under every request path and option value: percent
// decoding (0: encoded slash refused, 5: allowed), integers, byte sizes,
// durations and JSON escaping. The first byte picks the parser.
#include <algorithm>
#include <limits>

#include "base/strings.h"
#include "fuzz/fuzz_util.h"

using namespace cellar;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in = fuzz::AsView(data + 1, size - 1);
  switch (fuzz::Mode(data[0], 6)) {
    case 0:
    case 5: {
      const bool allow_slash = fuzz::Mode(data[0], 6) == 5;
      auto d = PercentDecode(in, allow_slash);
      if (!d) return 0;
      FUZZ_CHECK(d->size() <= in.size());
      if (in.find('%') == std::string_view::npos) FUZZ_CHECK(*d == in);
      // An encoded slash or NUL is refused, so every '/' was written as one.
      if (!allow_slash) {
        FUZZ_CHECK(std::count(d->begin(), d->end(), '/') == std::count(in.begin(), in.end(), '/'));
      }
      FUZZ_CHECK(std::count(d->begin(), d->end(), '\0') == std::count(in.begin(), in.end(), '\0'));
      break;
    }
    case 1: {
      auto v = ParseUint64(in);
      if (v) FUZZ_CHECK(std::to_string(*v) == std::string(in).erase(0, std::min(in.find_first_not_of('0'), in.size() - 1)));
      break;
    }
    case 2:
      (void)ParseByteSize(in);
      break;
    case 3: {
      auto ms = ParseDurationMs(in);
      if (ms) FUZZ_CHECK(*ms >= 0);
      break;
    }
    case 4: {
      std::string e = JsonEscape(in);
      for (unsigned char c : e) FUZZ_CHECK(c >= 0x20);
      for (size_t q = e.find('"'); q != std::string::npos; q = e.find('"', q + 1)) {
        size_t backslashes = 0;
        while (backslashes < q && e[q - 1 - backslashes] == '\\') ++backslashes;
        FUZZ_CHECK(backslashes % 2 == 1);
      }
      break;
    }
  }
  return 0;
}
