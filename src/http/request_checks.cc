#include "http/request_checks.h"

#include <vector>

#include "base/strings.h"

namespace cellar::http {

namespace bhttp = boost::beast::http;

namespace {

std::optional<Refusal> CheckHost(const bhttp::request_header<>& header) {
  size_t hosts = header.count(bhttp::field::host);
  if (hosts > 1) return Refusal{400, "more than one Host header"};
  // HTTP/1.0 may omit it.
  if (hosts == 0 && header.version() >= 11) return Refusal{400, "HTTP/1.1 request without a Host header"};
  return std::nullopt;
}

std::optional<Refusal> CheckTransferEncoding(const bhttp::request_header<>& header) {
  size_t fields = header.count(bhttp::field::transfer_encoding);
  if (fields == 0) return std::nullopt;
  if (fields > 1) return Refusal{400, "more than one Transfer-Encoding header"};
  if (header.version() < 11) return Refusal{400, "Transfer-Encoding in an HTTP/1.0 request"};
  if (header.count(bhttp::field::content_length) > 0) {
    return Refusal{400, "both Transfer-Encoding and Content-Length"};
  }
  std::vector<std::string_view> codings;
  for (std::string_view c : SplitView(header[bhttp::field::transfer_encoding], ',')) {
    c = TrimWhitespace(c);
    if (!c.empty()) codings.push_back(c);  // empty list elements are allowed
  }
  if (codings.empty()) return Refusal{400, "empty Transfer-Encoding"};
  size_t chunked = 0;
  for (std::string_view c : codings) chunked += EqualsIgnoreCase(c, "chunked") ? 1 : 0;
  // Without chunked last the body has no knowable end (RFC 9112 6.3).
  if (!EqualsIgnoreCase(codings.back(), "chunked")) {
    return Refusal{400, "the last transfer coding must be chunked"};
  }
  if (chunked > 1) return Refusal{400, "chunked applied more than once"};
  if (codings.size() > 1) {
    return Refusal{501, "transfer coding not implemented: " + std::string(codings.front())};
  }
  return std::nullopt;
}

}  // namespace

std::optional<Refusal> CheckRequestHeader(const bhttp::request_header<>& header) {
  if (auto r = CheckHost(header)) return r;
  return CheckTransferEncoding(header);
}

}  // namespace cellar::http
