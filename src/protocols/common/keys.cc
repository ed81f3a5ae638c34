#include "protocols/common/keys.h"

#include "base/strings.h"

namespace cellar::protocols {

bool IsOpaqueKey(std::string_view key, size_t max_length) {
  if (key.empty() || key.size() > max_length) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsSafeKeyPath(std::string_view path, size_t max_segments, size_t max_length) {
  if (path.empty() || path.size() > max_length) return false;
  auto segments = SplitView(path, '/');
  if (segments.size() > max_segments) return false;
  for (auto seg : segments) {
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
      if (!ok) return false;
    }
  }
  return true;
}

}  // namespace cellar::protocols
