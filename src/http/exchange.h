// Exchange: one HTTP request and its response, as seen by a route handler.
//
// The request body is streamed: handlers pull it with ReadBody() into their
// own buffer, so a multi-GiB PUT never sits in memory. Responses are sent
// whole (small bodies), from a file range with sendfile(2) (zero-copy hits),
// or from a pull callback (compressed blobs, generated streams).
// Exactly one Respond*() call per exchange (later ones send nothing and
// return an error); the server answers 500 if a handler returns without
// responding. A body that cannot be sent in full (its source fails, ends
// early or a file is short) ends the connection and is logged: the client
// never sees a complete-looking response with a wrong body.
// The bytes move through a Transport (transport.h): a socket in the server,
// memory in tests, so any handler can be driven in-process.
// Thread-safety: used by one coroutine at a time, on the connection's strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>

#include "base/status.h"
#include "http/transport.h"
#include "trace/trace_context.h"

namespace cellar::trace {
class Tracer;
}  // namespace cellar::trace

namespace cellar::http {

namespace beast = boost::beast;

struct ExchangeLimits {
  uint64_t max_body_bytes = 0;  // 0 = unlimited
  std::chrono::milliseconds idle_timeout{60'000};
  // A request body must arrive at min_body_rate bytes/s on average over
  // each body_rate_window of time spent waiting for it (0 = no minimum);
  // a client that falls behind gets 408 and the connection closes. Only
  // time waiting on the socket counts, so a slow disk is not the client's
  // fault.
  uint64_t min_body_rate = 0;
  std::chrono::milliseconds body_rate_window{10'000};
};

class Exchange {
 public:
  using Parser = beast::http::request_parser<beast::http::buffer_body>;
  // Pull callback for streamed responses: fills the span, returns bytes
  // written, 0 at the end.
  using Source = std::function<Result<size_t>(std::span<std::byte>)>;
  // Like Source, for producers that must not block the I/O thread (they
  // co_await work on the worker pool).
  using AsyncSource = std::function<boost::asio::awaitable<Result<size_t>>(std::span<std::byte>)>;

  // `parser` has read the request header; `buffer` holds the bytes read
  // behind it. All must outlive the exchange.
  Exchange(Transport& transport, beast::flat_buffer& buffer, Parser& parser, ExchangeLimits limits,
           std::string remote);

  // --- request ---
  beast::http::verb method() const { return parser_.get().method(); }
  std::string_view method_string() const { return parser_.get().method_string(); }
  std::string_view target() const { return parser_.get().target(); }
  // Path with repeated slashes collapsed; not percent-decoded.
  const std::string& path() const { return path_; }
  std::string_view query() const { return query_; }
  // Value of one query parameter, percent-decoded; nullopt if absent.
  std::optional<std::string> QueryParam(std::string_view name) const;
  std::optional<std::string_view> Header(std::string_view name) const;
  std::optional<uint64_t> content_length() const;
  bool chunked() const { return parser_.chunked(); }
  const std::string& remote() const { return remote_; }

  // Reads up to buf.size() body bytes; 0 means the body is complete. Errors:
  // kResourceExhausted past the size limit, kDeadlineExceeded when the
  // client stalls or falls below the minimum rate (the client has then been
  // answered 408), kAborted when the client disconnects mid-body.
  boost::asio::awaitable<Result<size_t>> ReadBody(std::span<std::byte> buf);
  // Reads the whole body into a string; kResourceExhausted beyond `max_bytes`.
  boost::asio::awaitable<Result<std::string>> ReadBodyToString(size_t max_bytes);
  bool body_done() const;
  uint64_t body_bytes_read() const { return body_bytes_; }

  // --- response ---
  void SetHeader(std::string name, std::string value);
  boost::asio::awaitable<Status> Respond(unsigned status, std::string_view body,
                                         std::string_view content_type = "text/plain");
  // Headers only, with the Content-Length a GET would have (HEAD answers).
  boost::asio::awaitable<Status> RespondHeaders(unsigned status, uint64_t content_length,
                                                std::string_view content_type);
  // Sends `length` bytes of `fd` from `offset` with sendfile(2).
  boost::asio::awaitable<Status> RespondFile(unsigned status, std::string_view content_type,
                                             int fd, uint64_t offset, uint64_t length);
  // Sends exactly `length` bytes pulled from `source`.
  boost::asio::awaitable<Status> RespondStream(unsigned status, std::string_view content_type,
                                               uint64_t length, Source source);

  // Sends exactly `length` bytes pulled from `source`.
  boost::asio::awaitable<Status> RespondAsyncStream(unsigned status, std::string_view content_type,
                                                    uint64_t length, AsyncSource source);

  // Sends a body of unknown length with chunked transfer encoding, pulling
  // from `source` until it returns 0 (the end) or an error (the connection
  // is then closed without the final chunk, so the client sees a truncated
  // response, never a complete-looking one).
  boost::asio::awaitable<Status> RespondChunked(unsigned status, std::string_view content_type,
                                                AsyncSource source);

  bool responded() const { return status_ != 0; }
  // True when the body promised by the response could not be sent in full.
  bool cut_short() const { return cut_short_; }
  unsigned status() const { return status_; }
  uint64_t bytes_out() const { return bytes_out_; }
  // False when the connection must close after this exchange.
  bool keep_alive() const { return keep_alive_; }
  void set_keep_alive(bool v) { keep_alive_ = v; }

  // Fields the handler wants in the access log line and metrics.
  void set_route(std::string route) { route_ = std::move(route); }
  const std::string& route() const { return route_; }
  void set_principal(std::string name) { principal_ = std::move(name); }
  const std::string& principal() const { return principal_; }
  void set_cache_result(std::string result) { cache_result_ = std::move(result); }
  const std::string& cache_result() const { return cache_result_; }
  // The cache namespace the request was for ("npm", "turbo/team_x", ...),
  // set by authorization; the dashboard's per-namespace traffic.
  void set_namespace(std::string ns) { namespace_ = std::move(ns); }
  const std::string& cache_namespace() const { return namespace_; }
  // A hit that spared a client this much work (turbo's x-artifact-duration,
  // the task duration `cellar run` recorded): the dashboard's build time saved.
  void set_time_saved_ms(uint64_t ms) { time_saved_ms_ = ms; }
  uint64_t time_saved_ms() const { return time_saved_ms_; }

  // The request's trace when tracing is on (docs/tracing.md): handlers start
  // child spans under it (trace::ScopedSpan) and hand it to blocking work
  // that calls upstreams (trace::CurrentScope). Null tracer: not traced.
  void set_trace(trace::Tracer* tracer, trace::TraceContext context) {
    tracer_ = tracer;
    trace_context_ = context;
  }
  trace::Tracer* tracer() const { return tracer_; }
  const trace::TraceContext* trace_context() const { return tracer_ ? &trace_context_ : nullptr; }

 private:
  using ResponseHeader = beast::http::response<beast::http::empty_body>;
  void ApplyCommonHeaders(ResponseHeader& res, unsigned status);
  // Sends the serialized header, followed by `body` in the same write.
  boost::asio::awaitable<Status> WriteHeader(const ResponseHeader& res, std::string_view body = {});
  boost::asio::awaitable<Status> SendContinueIfExpected();
  // Chunked bodies go through the parser: fills `buf` from the buffered
  // and then the transport's bytes until it is full or the body ends.
  boost::asio::awaitable<Result<size_t>> ReadParsedBody(std::span<std::byte> buf,
                                                        std::chrono::steady_clock::time_point deadline);
  // Ends a response whose body cannot be completed: closes after it, logs.
  Status CutShort(Status why, uint64_t promised);
  // Minimum body rate (ExchangeLimits): the deadline for the next socket
  // read, the bytes one window needs, the check after each read, and the
  // 408 answer when the client fell behind.
  std::chrono::milliseconds ReadTimeout() const;
  uint64_t WindowQuota() const;
  bool KeptMinimumRate(std::chrono::steady_clock::duration waited, size_t bytes);
  boost::asio::awaitable<Status> BodyTooSlow();

  Transport& transport_;
  beast::flat_buffer& buffer_;
  Parser& parser_;
  ExchangeLimits limits_;
  std::string remote_;
  std::string path_;
  std::string_view query_;
  std::vector<std::pair<std::string, std::string>> extra_headers_;
  uint64_t body_bytes_ = 0;
  uint64_t bytes_out_ = 0;
  unsigned status_ = 0;
  bool keep_alive_ = true;
  bool continue_sent_ = false;
  bool cut_short_ = false;
  // Set for fixed-length bodies, which bypass the parser: bytes still to read.
  std::optional<uint64_t> direct_remaining_;
  // Time spent waiting for body bytes, and bytes read, in the current
  // minimum-rate window.
  std::chrono::steady_clock::duration window_waited_{};
  uint64_t window_bytes_ = 0;
  std::string route_ = "unmatched";
  std::string principal_;
  std::string cache_result_;
  std::string namespace_;
  uint64_t time_saved_ms_ = 0;
  trace::Tracer* tracer_ = nullptr;
  trace::TraceContext trace_context_;
};

}  // namespace cellar::http
