#include "protocols/goproxy/go_path.h"

#include "base/strings.h"

namespace cellar::goproxy {

namespace {

bool IsEscapedChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~' || c == '+' || c == '!';
}

// "!" must be followed by a lowercase letter; nothing uppercase or non-ASCII.
bool IsValidEscaped(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsEscapedChar(s[i])) return false;
    if (s[i] == '!' && (i + 1 >= s.size() || s[i + 1] < 'a' || s[i + 1] > 'z')) return false;
  }
  return true;
}

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

bool IsValidEscapedModule(std::string_view module) {
  if (module.empty() || module.size() > 500) return false;
  for (auto element : SplitView(module, '/')) {
    if (element.empty() || element == "." || element == "..") return false;
    if (!IsValidEscaped(element)) return false;
  }
  return true;
}

bool IsValidEscapedVersion(std::string_view version) {
  if (version.empty() || version.size() > 200 || version == "." || version == "..") return false;
  return IsValidEscaped(version);
}

bool IsCanonicalVersion(std::string_view v) {
  if (v.size() < 6 || v[0] != 'v') return false;
  v.remove_prefix(1);
  size_t end = v.find_first_of("-+");
  auto core = SplitView(v.substr(0, end), '.');
  if (core.size() != 3) return false;
  for (auto part : core) {
    if (!IsDigits(part) || (part.size() > 1 && part[0] == '0')) return false;
  }
  if (end == std::string_view::npos) return true;
  std::string_view rest = v.substr(end);
  if (rest.ends_with("+incompatible")) rest.remove_suffix(13);
  if (rest.empty()) return true;
  if (rest[0] != '-' || rest.size() < 2) return false;
  return rest.find('+') == std::string_view::npos;  // no other build metadata
}

std::string UnescapeGoPath(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '!' && i + 1 < escaped.size()) {
      out += static_cast<char>(escaped[++i] - 'a' + 'A');
    } else {
      out += escaped[i];
    }
  }
  return out;
}

std::optional<GoRequest> ParseGoPath(std::string_view rest) {
  GoRequest req;
  if (rest.ends_with("/@latest")) {
    req.kind = GoFileKind::kLatest;
    req.module = std::string(rest.substr(0, rest.size() - 8));
  } else {
    size_t at = rest.rfind("/@v/");
    if (at == std::string_view::npos) return std::nullopt;
    req.module = std::string(rest.substr(0, at));
    std::string_view file = rest.substr(at + 4);
    auto strip = [&](std::string_view ext, GoFileKind kind) {
      if (!file.ends_with(ext)) return false;
      req.kind = kind;
      req.version = std::string(file.substr(0, file.size() - ext.size()));
      return true;
    };
    if (file == "list") {
      req.kind = GoFileKind::kList;
    } else if (!strip(".info", GoFileKind::kInfo) && !strip(".mod", GoFileKind::kMod) &&
               !strip(".zip", GoFileKind::kZip)) {
      return std::nullopt;
    }
    if (req.kind != GoFileKind::kList && !IsValidEscapedVersion(req.version)) return std::nullopt;
    // .mod and .zip exist only for canonical versions.
    if ((req.kind == GoFileKind::kMod || req.kind == GoFileKind::kZip) &&
        !IsCanonicalVersion(req.version)) {
      return std::nullopt;
    }
  }
  if (!IsValidEscapedModule(req.module)) return std::nullopt;
  req.upstream_path = std::string(rest);
  return req;
}

}  // namespace cellar::goproxy
