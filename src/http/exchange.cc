#include "http/exchange.h"

#include <sys/sendfile.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "http/socket_deadline.h"

namespace cellar::http {

namespace asio = boost::asio;
namespace bhttp = beast::http;
using asio::awaitable;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

Status WriteError(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return Status::DeadlineExceeded("client stopped reading");
  return Status::Aborted("client went away: " + ec.message());
}

// A second response would be read by the client as part of the first one's
// body (or as the answer to its next request).
Status AlreadyResponded() { return Status::Internal("a response was already started"); }
}  // namespace

Exchange::Exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer, Parser& parser,
                   ExchangeLimits limits, std::string remote)
    : stream_(stream), buffer_(buffer), parser_(parser), limits_(limits),
      remote_(std::move(remote)) {
  std::string_view t = parser_.get().target();
  size_t q = t.find('?');
  path_ = CollapseSlashes(t.substr(0, q));
  if (q != std::string_view::npos) query_ = t.substr(q + 1);
  keep_alive_ = parser_.get().keep_alive();
  if (!parser_.is_done() && !parser_.chunked()) {
    if (auto len = parser_.content_length()) direct_remaining_ = *len;
  }
}

std::optional<std::string> Exchange::QueryParam(std::string_view name) const {
  for (auto pair : SplitView(query_, '&')) {
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key != name) continue;
    std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    return PercentDecode(value, true);
  }
  return std::nullopt;
}

std::optional<std::string_view> Exchange::Header(std::string_view name) const {
  auto it = parser_.get().find(name);
  if (it == parser_.get().end()) return std::nullopt;
  return it->value();
}

std::optional<uint64_t> Exchange::content_length() const {
  auto len = parser_.content_length();
  if (!len) return std::nullopt;
  return *len;
}

awaitable<Status> Exchange::SendContinueIfExpected() {
  if (continue_sent_) co_return Status();
  continue_sent_ = true;
  auto expect = Header("Expect");
  if (!expect || !EqualsIgnoreCase(TrimWhitespace(*expect), "100-continue")) co_return Status();
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  stream_.expires_after(limits_.idle_timeout);
  auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(kContinue), kTuple);
  if (ec) co_return WriteError(ec);
  co_return Status();
}

awaitable<Result<size_t>> Exchange::ReadBody(std::span<std::byte> buf) {
  if (body_done() || buf.empty()) co_return size_t{0};
  if (Status s = co_await SendContinueIfExpected(); !s.ok()) co_return s;
  size_t got = 0;
  if (direct_remaining_ && buffer_.size() > 0) {
    // Fixed-length body: bytes already buffered behind the headers first.
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), *direct_remaining_));
    got = asio::buffer_copy(asio::buffer(buf.data(), want), buffer_.data());
    buffer_.consume(got);
    *direct_remaining_ -= got;
  } else {
    // The socket wait has one deadline: --idle-timeout, or sooner when the
    // client has not kept up the minimum rate in this window.
    stream_.expires_never();
    auto t0 = std::chrono::steady_clock::now();
    SocketDeadline deadline(stream_.socket(), ReadTimeout());
    beast::error_code ec;
    if (direct_remaining_) {
      // Then straight from the socket into the caller's buffer (one copy,
      // large reads) instead of through the parser.
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), *direct_remaining_));
      auto [rec, n] = co_await stream_.async_read_some(asio::buffer(buf.data(), want), kTuple);
      ec = rec;
      got = n;
      *direct_remaining_ -= got;
    } else {
      auto& body = parser_.get().body();
      body.data = buf.data();
      body.size = buf.size();
      auto [rec, unused] = co_await bhttp::async_read(stream_, buffer_, parser_, kTuple);
      ec = rec == bhttp::error::need_buffer ? beast::error_code() : rec;
      got = buf.size() - body.size;
      body.data = nullptr;
      body.size = 0;
    }
    if (deadline.Disarm()) co_return co_await BodyTooSlow();
    if (ec) {
      keep_alive_ = false;
      co_return Status::Aborted("request body incomplete: " + ec.message());
    }
    if (!KeptMinimumRate(std::chrono::steady_clock::now() - t0, got)) co_return co_await BodyTooSlow();
  }
  body_bytes_ += got;
  if (limits_.max_body_bytes && body_bytes_ > limits_.max_body_bytes) {
    keep_alive_ = false;
    co_return Status::ResourceExhausted("request body exceeds " +
                                        std::to_string(limits_.max_body_bytes) + " bytes");
  }
  co_return got;
}

std::chrono::milliseconds Exchange::ReadTimeout() const {
  auto timeout = limits_.idle_timeout;
  if (limits_.min_body_rate == 0 || window_bytes_ >= WindowQuota()) return timeout;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(limits_.body_rate_window - window_waited_);
  return std::clamp(left, std::chrono::milliseconds(1), timeout);
}

uint64_t Exchange::WindowQuota() const {
  auto window_ms = static_cast<uint64_t>(limits_.body_rate_window.count());
  return limits_.min_body_rate * window_ms / 1000;
}

bool Exchange::KeptMinimumRate(std::chrono::steady_clock::duration waited, size_t bytes) {
  if (limits_.min_body_rate == 0) return true;
  window_waited_ += waited;
  window_bytes_ += bytes;
  if (window_waited_ < limits_.body_rate_window) return true;
  const bool kept = window_bytes_ >= WindowQuota();
  window_waited_ = {};
  window_bytes_ = 0;
  return kept;
}

awaitable<Status> Exchange::BodyTooSlow() {
  keep_alive_ = false;
  // The handler's own answer to the error below is refused (one response
  // per exchange); this one tells the client why.
  if (!responded()) {
    (void)co_await Respond(408, "request body not received in time\n");
  }
  co_return Status::DeadlineExceeded("request body too slow");
}

bool Exchange::body_done() const {
  if (direct_remaining_) return *direct_remaining_ == 0;
  return parser_.is_done();
}

awaitable<Result<std::string>> Exchange::ReadBodyToString(size_t max_bytes) {
  std::string out;
  if (auto len = content_length(); len && *len > max_bytes) {
    keep_alive_ = false;
    co_return Status::ResourceExhausted("request body exceeds " + std::to_string(max_bytes) +
                                        " bytes");
  }
  std::byte chunk[16384];
  while (true) {
    auto n = co_await ReadBody(chunk);
    if (!n.ok()) co_return n.error();
    if (*n == 0) break;
    if (out.size() + *n > max_bytes) {
      keep_alive_ = false;
      co_return Status::ResourceExhausted("request body exceeds " + std::to_string(max_bytes) +
                                          " bytes");
    }
    out.append(reinterpret_cast<const char*>(chunk), *n);
  }
  co_return out;
}

void Exchange::SetHeader(std::string name, std::string value) {
  extra_headers_.emplace_back(std::move(name), std::move(value));
}

template <typename Response>
void Exchange::ApplyCommonHeaders(Response& res, unsigned status) {
  status_ = status;
  res.result(status);
  res.version(11);
  res.set(bhttp::field::server, "cellar");
  for (const auto& [k, v] : extra_headers_) res.set(k, v);
  // A body the handler did not read would be parsed as the next request:
  // close unless it was (nearly) consumed. The server drains small leftovers.
  res.keep_alive(keep_alive_);
}

awaitable<Status> Exchange::Respond(unsigned status, std::string_view body,
                                    std::string_view content_type) {
  if (responded()) co_return AlreadyResponded();
  // The body is sent from the caller's memory, which outlives this call: no
  // copy into the response, which for small cache hits was one of three.
  bhttp::response<bhttp::span_body<const char>> res;
  ApplyCommonHeaders(res, status);
  if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
  if (method() == bhttp::verb::head) {
    res.content_length(body.size());
    bhttp::response_serializer<bhttp::span_body<const char>> sr(res);
    stream_.expires_after(limits_.idle_timeout);
    auto [ec, n] = co_await bhttp::async_write_header(stream_, sr, kTuple);
    if (ec) co_return WriteError(ec);
    co_return Status();
  }
  res.body() = beast::span<const char>(body.data(), body.size());
  res.prepare_payload();
  stream_.expires_after(limits_.idle_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream_, res, kTuple);
  bytes_out_ += body.size();
  if (ec) co_return WriteError(ec);
  co_return Status();
}

awaitable<Status> Exchange::RespondHeaders(unsigned status, uint64_t content_length,
                                           std::string_view content_type) {
  if (responded()) co_return AlreadyResponded();
  bhttp::response<bhttp::empty_body> res;
  ApplyCommonHeaders(res, status);
  if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
  res.content_length(content_length);
  bhttp::response_serializer<bhttp::empty_body> sr(res);
  stream_.expires_after(limits_.idle_timeout);
  auto [ec, n] = co_await bhttp::async_write_header(stream_, sr, kTuple);
  if (ec) co_return WriteError(ec);
  co_return Status();
}

awaitable<Status> Exchange::RespondFile(unsigned status, std::string_view content_type, int fd,
                                        uint64_t offset, uint64_t length) {
  if (Status s = co_await RespondHeaders(status, length, content_type); !s.ok()) co_return s;
  if (method() == bhttp::verb::head) co_return Status();
  auto& socket = stream_.socket();
  socket.native_non_blocking(true);
  off_t off = static_cast<off_t>(offset);
  uint64_t remaining = length;
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, 4 << 20));
    ssize_t n = ::sendfile(socket.native_handle(), fd, &off, want);
    if (n > 0) {
      remaining -= static_cast<uint64_t>(n);
      bytes_out_ += static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) {
      // The file ends before the promised length: never pad, close.
      co_return CutShort(Status::Corruption("file ended " + std::to_string(remaining) +
                                            " bytes before the promised length"),
                         length);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      // A client that stops reading must not hold the connection and the
      // blob's file forever.
      SocketDeadline deadline(socket, limits_.idle_timeout);
      auto [ec] = co_await socket.async_wait(asio::ip::tcp::socket::wait_write, kTuple);
      deadline.Disarm();
      if (ec) {
        keep_alive_ = false;
        co_return WriteError(ec);
      }
      continue;
    }
    if (errno == EPIPE || errno == ECONNRESET) {
      keep_alive_ = false;
      co_return Status::Aborted("client went away during sendfile");
    }
    co_return CutShort(Status::FromErrno(errno, "sendfile"), length);
  }
  co_return Status();
}

awaitable<Status> Exchange::RespondStream(unsigned status, std::string_view content_type,
                                          uint64_t length, Source source) {
  co_return co_await RespondAsyncStream(
      status, content_type, length,
      [&source](std::span<std::byte> out) -> awaitable<Result<size_t>> { co_return source(out); });
}

awaitable<Status> Exchange::RespondAsyncStream(unsigned status, std::string_view content_type,
                                               uint64_t length, AsyncSource source) {
  if (Status s = co_await RespondHeaders(status, length, content_type); !s.ok()) co_return s;
  if (method() == bhttp::verb::head) co_return Status();
  std::vector<std::byte> buf(256 * 1024);
  uint64_t remaining = length;
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, buf.size()));
    auto n = co_await source(std::span(buf.data(), want));
    // The header promised `length` bytes: a source that fails, ends early
    // or claims more than it was asked for ends the connection, which the
    // client treats as a failed download.
    if (!n.ok()) co_return CutShort(n.error(), length);
    if (*n == 0) co_return CutShort(Status::Corruption("source ended early"), length);
    if (*n > want) co_return CutShort(Status::Internal("source returned more bytes than asked for"), length);
    stream_.expires_after(limits_.idle_timeout);
    auto [ec, written] = co_await asio::async_write(stream_, asio::buffer(buf.data(), *n), kTuple);
    if (ec) {
      keep_alive_ = false;
      co_return WriteError(ec);
    }
    remaining -= *n;
    bytes_out_ += *n;
  }
  co_return Status();
}

Status Exchange::CutShort(Status why, uint64_t promised) {
  keep_alive_ = false;
  cut_short_ = true;
  Log(LogLevel::kWarn, "response cut short",
      "\"route\":\"" + JsonEscape(route_) + "\",\"path\":\"" + JsonEscape(path_) +
          "\",\"sent\":" + std::to_string(bytes_out_) +
          (promised ? ",\"length\":" + std::to_string(promised) : std::string()) + ",\"error\":\"" +
          JsonEscape(why.ToString()) + "\"");
  return why;
}

awaitable<Status> Exchange::RespondChunked(unsigned status, std::string_view content_type,
                                           AsyncSource source) {
  if (responded()) co_return AlreadyResponded();
  bhttp::response<bhttp::empty_body> res;
  ApplyCommonHeaders(res, status);
  if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
  res.chunked(true);
  bhttp::response_serializer<bhttp::empty_body> sr(res);
  stream_.expires_after(limits_.idle_timeout);
  {
    auto [ec, n] = co_await bhttp::async_write_header(stream_, sr, kTuple);
    if (ec) co_return WriteError(ec);
  }
  if (method() == bhttp::verb::head) co_return Status();
  std::vector<std::byte> buf(64 * 1024);
  while (true) {
    auto n = co_await source(std::span(buf.data(), buf.size()));
    if (!n.ok()) co_return CutShort(n.error(), 0);
    if (*n > buf.size()) co_return CutShort(Status::Internal("source returned more bytes than asked for"), 0);
    char size_line[32];
    int len = 0;
    if (*n == 0) {
      len = std::snprintf(size_line, sizeof size_line, "0\r\n\r\n");
    } else {
      len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", *n);
    }
    std::array<asio::const_buffer, 3> parts{asio::buffer(size_line, static_cast<size_t>(len)),
                                            asio::buffer(buf.data(), *n), asio::buffer("\r\n", *n ? 2 : 0)};
    stream_.expires_after(limits_.idle_timeout);
    auto [ec, written] = co_await asio::async_write(stream_, parts, kTuple);
    if (ec) {
      keep_alive_ = false;
      co_return WriteError(ec);
    }
    if (*n == 0) break;
    bytes_out_ += *n;
  }
  co_return Status();
}

}  // namespace cellar::http
