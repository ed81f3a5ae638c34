// Client-chosen cache keys of the build-cache protocols: opaque keys
// (turbo, negotiate) and key paths with each adapter's limits (bazel, nx,
// ccache, gradle, sccache), plus the XML escaping of the href a WebDAV
// answer echoes. An accepted key can never form a path outside its
// namespace.
#include <algorithm>
#include <utility>

#include "base/strings.h"
#include "fuzz/fuzz_util.h"
#include "protocols/common/keys.h"

using namespace cellar;

namespace {

bool SafeChars(std::string_view s, std::string_view extra) {
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              extra.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::AsView(data, size);
  if (protocols::IsOpaqueKey(in, 128)) {
    FUZZ_CHECK(!in.empty() && in.size() <= 128 && SafeChars(in, "_-"));
  }
  // (segments, length) as the adapters call it: bazel, nx, gradle, ccache, sccache.
  static constexpr std::pair<size_t, size_t> kLimits[] = {{1, 128}, {4, 200}, {6, 512}, {8, 512}, {16, 1024}};
  for (auto [segments, length] : kLimits) {
    if (!protocols::IsSafeKeyPath(in, segments, length)) continue;
    FUZZ_CHECK(!in.empty() && in.size() <= length && SafeChars(in, "._-/"));
    FUZZ_CHECK(in[0] != '/' && !in.ends_with("/") && in.find("//") == std::string_view::npos);
    FUZZ_CHECK(fuzz::HasNoDotSegments(in));
    FUZZ_CHECK(static_cast<size_t>(std::count(in.begin(), in.end(), '/')) < segments);
  }
  std::string escaped = XmlEscape(in);
  FUZZ_CHECK(escaped.find_first_of("<>\"'") == std::string::npos);
  for (size_t amp = escaped.find('&'); amp != std::string::npos; amp = escaped.find('&', amp + 1)) {
    std::string_view rest = std::string_view(escaped).substr(amp);
    FUZZ_CHECK(rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;") ||
               rest.starts_with("&quot;") || rest.starts_with("&apos;"));
  }
  return 0;
}
