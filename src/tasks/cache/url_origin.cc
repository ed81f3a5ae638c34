#include "tasks/cache/url_origin.h"

#include "base/strings.h"

namespace cellar::taskcache {

std::optional<UrlOrigin> ParseOrigin(std::string_view url) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  UrlOrigin origin;
  origin.scheme = ToLower(url.substr(0, sep));
  if (origin.scheme == "http") origin.port = 80;
  else if (origin.scheme == "https") origin.port = 443;
  else return std::nullopt;
  std::string_view authority = url.substr(sep + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  origin.host = ToLower(host);
  if (!port.empty()) {
    std::optional<uint64_t> n = ParseUint64(port);
    if (!n || *n == 0 || *n > 65535) return std::nullopt;
    origin.port = static_cast<uint16_t>(*n);
  }
  return origin;
}

bool SameOrigin(std::string_view a, std::string_view b) {
  std::optional<UrlOrigin> oa = ParseOrigin(a);
  std::optional<UrlOrigin> ob = ParseOrigin(b);
  return oa && ob && *oa == *ob;
}

std::string UrlForMessages(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  const size_t path = url.find('/', sep + 3);
  const std::string_view authority = url.substr(sep + 3, path == std::string_view::npos ? url.npos : path - sep - 3);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, sep + 3)) + std::string(url.substr(sep + 3 + at + 1));
}

}  // namespace cellar::taskcache
