#include "giturl/repository_url.h"

#include "base/strings.h"

namespace cellar::giturl {

namespace {
bool IsPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '~' || c == '-';
}

bool IsLabelChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// "name[:port]", lowercased: dot-separated labels of [a-z0-9-] that are
// never empty (so never "." or "..") and never start with '-'.
Status CheckHost(std::string_view host) {
  if (host.size() > 253) return Status::InvalidArgument("host name too long");
  if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5) return Status::InvalidArgument("bad port in host name");
    for (char c : port) {
      if (c < '0' || c > '9') return Status::InvalidArgument("bad port in host name");
    }
    host = host.substr(0, colon);
  }
  for (auto label : SplitView(host, '.')) {
    if (label.empty() || label.front() == '-') return Status::InvalidArgument("bad host name");
    for (char c : label) {
      if (!IsLabelChar(c)) return Status::InvalidArgument("bad character in host name");
    }
  }
  return Status::Ok();
}
}  // namespace

Result<RepositoryLocation> ParseHostAndPath(std::string_view rest) {
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return Status::InvalidArgument("expected <host>/<repository>");
  RepositoryLocation loc;
  loc.host = ToLower(rest.substr(0, slash));
  CELLAR_RETURN_IF_ERROR(CheckHost(loc.host));
  std::string_view path = rest.substr(slash + 1);
  if (path.empty() || path.size() > 512) return Status::InvalidArgument("repository path must be 1..512 characters");
  auto segments = SplitView(path, '/');
  if (segments.size() > 32) return Status::InvalidArgument("repository path has too many segments");
  for (auto seg : segments) {
    if (seg.empty() || seg == "." || seg == "..") return Status::InvalidArgument("bad repository path segment");
    for (char c : seg) {
      if (!IsPathChar(c)) return Status::InvalidArgument("bad character in repository path");
    }
  }
  std::string_view name = path;
  if (name.ends_with(".git")) name.remove_suffix(4);
  // "org/.git" would name the mirror of "org/".
  if (name.empty() || name.ends_with("/")) return Status::InvalidArgument("bad repository path");
  loc.path = std::string(path);
  loc.name = std::string(name);
  loc.repo_key = loc.host + "/" + loc.name;
  return loc;
}

std::string WithoutCredentials(std::string_view url) {
  size_t start = url.find("://");
  if (start == std::string_view::npos) return std::string(url);
  start += 3;
  // The last '@' anywhere: a password may hold an unescaped '/' or '@'.
  size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  return std::string(url.substr(0, start)) + std::string(url.substr(at + 1));
}

Result<RepositoryLocation> ParseRepositoryUrl(std::string_view url) {
  std::string_view v = url;
  std::string_view scheme;
  if (v.starts_with("https://")) scheme = "https://";
  else if (v.starts_with("http://")) scheme = "http://";
  else return Status::InvalidArgument("only http(s) repository URLs are supported: " + WithoutCredentials(url));
  v.remove_prefix(scheme.size());
  bool had_credentials = false;
  // Userinfo ends at the last '@' before the path ('@' may appear in a password).
  if (size_t at = v.substr(0, v.find('/')).rfind('@'); at != std::string_view::npos) {
    v.remove_prefix(at + 1);
    had_credentials = true;
  }
  while (v.ends_with("/")) v.remove_suffix(1);
  auto loc = ParseHostAndPath(v);
  if (!loc.ok()) return Status::InvalidArgument(loc.error().message() + ": " + WithoutCredentials(url));
  loc->had_credentials = had_credentials;
  return loc;
}

}  // namespace cellar::giturl
