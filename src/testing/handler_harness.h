// HandlerHarness: drives a Router (or one handler) in-process, without
// sockets. A TestRequest is written as HTTP/1.1 bytes into a
// MemoryTransport, its header is parsed and checked as the server does
// (http::CheckRequestHeader), and the request runs through http::Dispatch,
// the server's own routing (501, 413, 404, 500 for a handler that throws or
// does not answer), on the harness's io_context until it completes. What
// the handler wrote is parsed back into a TestResponse.
//
// The client can send a chunked body, stop sending part-way (close, stall
// or reset) and stop reading the answer, so body limits, 408, cut-short
// responses and partial uploads are testable without a server.
// Test-only. Thread-safety: one Run() at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "http/exchange.h"
#include "http/memory_transport.h"
#include "http/router.h"

namespace cellar::testing {

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

struct TestRequest {
  std::string method = "GET";
  std::string target = "/";
  // "Host: cellar.test" is added unless a Host is given, and Content-Length
  // (or Transfer-Encoding: chunked) unless a framing header is given.
  HeaderPairs headers;
  std::string body;
  bool chunked = false;        // send the body with the chunked coding
  size_t chunk_size = 1000;    // bytes per chunk when chunked
  // Only this many bytes of the (encoded) body are sent; then the client
  // does `after`.
  std::optional<size_t> body_bytes_sent;
  http::MemoryTransport::AfterInput after = http::MemoryTransport::AfterInput::kClose;
  // The client takes at most this many bytes of the answer.
  std::optional<size_t> read_limit;
  size_t max_read = 16 * 1024;  // bytes per transport read
  // When set, sent as-is instead of the fields above (malformed requests).
  std::optional<std::string> raw;

  // A PUT of `body` to `target`, plain or chunked.
  static TestRequest Upload(std::string target, std::string body, HeaderPairs headers = {}, bool chunked = false) {
    TestRequest r;
    r.method = "PUT";
    r.target = std::move(target);
    r.headers = std::move(headers);
    r.body = std::move(body);
    r.chunked = chunked;
    return r;
  }
};

struct TestResponse {
  unsigned status = 0;  // 0: nothing parseable came back (see `error`)
  HeaderPairs headers;
  std::string body;
  bool complete = false;        // the response ended where its framing said
  bool keep_alive = false;      // the connection would stay open
  bool continue_sent = false;   // a 100 Continue came first
  bool refused_before_dispatch = false;  // CheckRequestHeader answered
  // From the Exchange: what the server logs for it.
  std::string route;
  std::string principal;
  std::string cache_result;
  std::string ns;              // the namespace authorization saw
  uint64_t time_saved_ms = 0;  // build time the answer spared the client
  bool cut_short = false;
  uint64_t body_bytes_read = 0;
  size_t transport_reads = 0;  // reads that returned request bytes, header included
  std::string raw;    // every byte written
  std::string error;  // why there is no status, or the harness timed out

  // Case-insensitive; the first value.
  std::optional<std::string> Header(std::string_view name) const;
};

struct HarnessOptions {
  http::ExchangeLimits limits;
  uint64_t max_body_bytes = 0;  // the server-wide limit (ServerOptions)
  // A request still running after this fails instead of hanging the test.
  std::chrono::milliseconds run_timeout{20'000};
};

class HandlerHarness {
 public:
  // `router` must outlive the harness.
  explicit HandlerHarness(const http::Router& router, HarnessOptions options = {});
  // One handler for every path.
  explicit HandlerHarness(http::Handler handler, HarnessOptions options = {});

  TestResponse Run(const TestRequest& request);

  TestResponse Get(std::string target, HeaderPairs headers = {});
  TestResponse Head(std::string target, HeaderPairs headers = {});
  TestResponse Put(std::string target, std::string body, HeaderPairs headers = {});
  TestResponse Post(std::string target, std::string body, HeaderPairs headers = {});
  TestResponse Delete(std::string target, HeaderPairs headers = {});
  TestResponse Send(std::string method, std::string target, HeaderPairs headers = {}, std::string body = {});

  // The bytes Run() sends for `request`.
  static std::string Encode(const TestRequest& request);

  boost::asio::io_context& io_context() { return *io_; }

 private:
  http::Router own_router_;  // for the one-handler form
  const http::Router& router_;
  HarnessOptions options_;
  std::unique_ptr<boost::asio::io_context> io_ = std::make_unique<boost::asio::io_context>();
};

// "Authorization: Bearer <token>".
std::pair<std::string, std::string> Bearer(std::string_view token);

}  // namespace cellar::testing
