#include "env/http_client.h"

#include "base/strings.h"

namespace cellar::env {

std::optional<std::string> HttpResponseHead::Header(std::string_view name) const {
  std::optional<std::string> value;
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) value = v;
  }
  return value;
}

std::optional<uint64_t> HttpResponseHead::ContentLength() const {
  auto v = Header("Content-Length");
  if (!v) return std::nullopt;
  return ParseUint64(*v);
}

std::string RedactUrl(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t authority = scheme + 3;
  size_t end = url.find_first_of("/?#", authority);
  size_t at = url.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at == std::string::npos || at < authority) return url;
  return url.substr(0, authority) + url.substr(at + 1);
}

Result<std::string> ReadAll(HttpResponse& response, size_t max_bytes) {
  std::string out;
  std::byte buf[16384];
  while (true) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, response.Read(buf));
    if (n == 0) return out;
    if (out.size() + n > max_bytes) {
      return Status::ResourceExhausted("upstream body exceeds " + std::to_string(max_bytes) + " bytes");
    }
    out.append(reinterpret_cast<const char*>(buf), n);
  }
}

}  // namespace cellar::env
