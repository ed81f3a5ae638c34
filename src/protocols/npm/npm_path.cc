#include "protocols/npm/npm_path.h"

#include <vector>

#include "base/strings.h"

namespace cellar::npm {

namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '!' || c == '*' || c == '\'' || c == '(' || c == ')';
}

bool IsValidPart(std::string_view part) {
  if (part.empty() || part.size() > 214 || part[0] == '.' || part[0] == '_') return false;
  for (char c : part) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

// Versions and dist-tags: semver characters plus what tags use.
bool IsValidVersionOrTag(std::string_view v) {
  if (v.empty() || v.size() > 256 || v == "." || v == "..") return false;
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '.' || c == '+' || c == '_' || c == '~';
    if (!ok) return false;
  }
  return true;
}

bool IsValidTarballFile(std::string_view f) {
  if (f.size() < 5 || f.size() > 300 || !f.ends_with(".tgz") || f[0] == '.') return false;
  for (char c : f) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '.' || c == '+' || c == '_' || c == '~';
    if (!ok) return false;
  }
  return true;
}

// Decodes one segment; "/" may appear (encoded) only when allowed.
std::optional<std::string> DecodeSegment(std::string_view seg, bool allow_slash) {
  auto decoded = PercentDecode(seg, allow_slash);
  if (!decoded || decoded->empty()) return std::nullopt;
  return decoded;
}

}  // namespace

bool IsValidPackageName(std::string_view name) {
  if (name.empty() || name.size() > 214) return false;
  // "-" would put the registry's own "/-/..." endpoints (whoami, tokens)
  // where a package document belongs.
  if (name == "-") return false;
  if (name[0] == '@') {
    size_t slash = name.find('/');
    if (slash == std::string_view::npos) return false;
    return IsValidPart(name.substr(1, slash - 1)) && IsValidPart(name.substr(slash + 1));
  }
  return IsValidPart(name);
}

std::string EscapedName(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '/') {
      out += "%2f";
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<NpmRequest> ParseNpmPath(std::string_view rest) {
  if (rest.starts_with("-/")) {
    std::string_view special = rest.substr(2);
    if (special.empty() || special.size() > 1024) return std::nullopt;
    // Checked decoded too: an upstream that decodes "%2e%2e" before routing
    // must not be led out of the path we meant (with our credentials).
    auto decoded = PercentDecode(special, /*allow_slash=*/true);
    if (!decoded || decoded->find("..") != std::string::npos || decoded->find('\\') != std::string::npos) {
      return std::nullopt;
    }
    return NpmRequest{NpmRequestKind::kSpecial, "", "", "", std::string(special)};
  }
  std::vector<std::string_view> segs = SplitView(rest, '/');
  while (!segs.empty() && segs.back().empty() && segs.size() > 1) segs.pop_back();  // one trailing slash
  for (auto s : segs) {
    if (s.empty()) return std::nullopt;
  }
  if (segs.empty()) return std::nullopt;

  NpmRequest req{NpmRequestKind::kPackument, "", "", "", ""};
  size_t next = 1;
  if (segs[0].starts_with("@") || segs[0].starts_with("%40")) {
    auto first = DecodeSegment(segs[0], /*allow_slash=*/true);
    if (!first) return std::nullopt;
    if (first->find('/') != std::string::npos) {
      req.name = *first;  // "@scope%2fname"
    } else {
      if (segs.size() < 2) return std::nullopt;
      auto second = DecodeSegment(segs[1], /*allow_slash=*/false);
      if (!second) return std::nullopt;
      req.name = *first + "/" + *second;  // "@scope/name"
      next = 2;
    }
  } else {
    auto first = DecodeSegment(segs[0], /*allow_slash=*/false);
    if (!first) return std::nullopt;
    req.name = *first;
  }
  if (!IsValidPackageName(req.name)) return std::nullopt;

  size_t remaining = segs.size() - next;
  if (remaining == 0) return req;
  if (remaining == 1) {
    auto v = DecodeSegment(segs[next], false);
    if (!v || !IsValidVersionOrTag(*v)) return std::nullopt;
    req.kind = NpmRequestKind::kVersion;
    req.version = *v;
    return req;
  }
  if (remaining == 2 && segs[next] == "-") {
    auto f = DecodeSegment(segs[next + 1], false);
    if (!f || !IsValidTarballFile(*f)) return std::nullopt;
    req.kind = NpmRequestKind::kTarball;
    req.file = *f;
    return req;
  }
  return std::nullopt;
}

}  // namespace cellar::npm
