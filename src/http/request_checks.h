// Checks of a parsed request header that Beast's parser leaves to the
// server: how the body is framed (Transfer-Encoding, RFC 9112 sections 6.1
// and 6.3) and the Host header (RFC 9112 section 3.2). A request that fails
// one is answered with the refusal and the connection is closed, because
// the server and a proxy in front of it may disagree about where the body
// ends: what one reads as body the other runs as the next request. The
// rules, in our words: docs/http-limits.md.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>

#include <boost/beast/http/message.hpp>

namespace cellar::http {

struct Refusal {
  unsigned status;     // 400, or 501 for a transfer coding we do not implement
  std::string reason;  // for the client; never contains server state
};

// nullopt when the header is acceptable: at most one Transfer-Encoding
// field, only in HTTP/1.1, never with Content-Length, listing exactly
// "chunked"; at most one Host field, and exactly one in HTTP/1.1.
std::optional<Refusal> CheckRequestHeader(const boost::beast::http::request_header<>& header);

}  // namespace cellar::http
