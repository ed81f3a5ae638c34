// HttpClient: upstream fetches for pull-through protocols (npm, Go, git).
// Responses stream: Send() returns once the status line and headers have
// arrived, and the body is pulled with Read(), so a large download is never
// held in memory. Timeouts are for connecting and for idle transfers, never
// for the whole transfer (big files are legitimate).
// Thread-safety: Send() may be called concurrently; a response object is
// single-threaded. Read() blocks; call it from a worker thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace cellar::env {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  // no byte for this long -> kDeadlineExceeded
  bool follow_redirects = true;  // credentials are never forwarded to another host
  std::string body;  // sent when non-empty (small bodies: audit requests and the like)
};

// A plain GET of `url` with the default timeouts.
inline HttpRequest GetRequest(std::string url) {
  HttpRequest request;
  request.url = std::move(url);
  return request;
}

struct HttpResponseHead {
  int status = 0;
  HeaderList headers;  // names as received
  // Case-insensitive header lookup; the last value wins.
  std::optional<std::string> Header(std::string_view name) const;
  std::optional<uint64_t> ContentLength() const;
};

class HttpResponse {
 public:
  virtual ~HttpResponse() = default;  // abandons the transfer if unfinished
  virtual const HttpResponseHead& head() const = 0;
  // Reads up to out.size() body bytes; 0 at the end. kUnavailable when the
  // connection breaks, kDeadlineExceeded when it stalls.
  virtual Result<size_t> Read(std::span<std::byte> out) = 0;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // kUnavailable when the upstream cannot be reached; any HTTP status
  // (including 4xx/5xx) is a successful response.
  virtual Result<std::unique_ptr<HttpResponse>> Send(const HttpRequest& request) = 0;
};

// "https://user:secret@host/x" -> "https://host/x": errors and logs must
// never carry credentials.
std::string RedactUrl(const std::string& url);

// Reads a whole (small) body; kResourceExhausted beyond max_bytes.
Result<std::string> ReadAll(HttpResponse& response, size_t max_bytes);

}  // namespace cellar::env
