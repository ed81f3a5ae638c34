#include "http/exchange.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include <boost/beast/http/error.hpp>

#include "base/log.h"
#include "base/strings.h"

namespace cellar::http {

namespace asio = boost::asio;
namespace bhttp = beast::http;
using asio::awaitable;

namespace {
// A second response would be read by the client as part of the first one's
// body (or as the answer to its next request).
Status AlreadyResponded() { return Status::Internal("a response was already started"); }

// How much a chunked (parsed) body read asks the transport for.
constexpr size_t kParsedBodyReadBytes = 64 * 1024;
}  // namespace

Exchange::Exchange(Transport& transport, beast::flat_buffer& buffer, Parser& parser,
                   ExchangeLimits limits, std::string remote)
    : transport_(transport), buffer_(buffer), parser_(parser), limits_(limits),
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
  const asio::const_buffer part = asio::buffer(kContinue);
  co_return co_await transport_.Write(std::span(&part, 1), limits_.idle_timeout);
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
    // The wait has one deadline: --idle-timeout, or sooner when the client
    // has not kept up the minimum rate in this window.
    auto t0 = std::chrono::steady_clock::now();
    auto timeout = ReadTimeout();
    Result<size_t> n = size_t{0};
    if (direct_remaining_) {
      // Then straight from the transport into the caller's buffer (one
      // copy, large reads) instead of through the parser.
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), *direct_remaining_));
      n = co_await transport_.ReadSome(buf.first(want), timeout);
      if (n.ok() && *n == 0) n = Status::Aborted("end of stream");
      if (n.ok()) *direct_remaining_ -= *n;
    } else {
      n = co_await ReadParsedBody(buf, t0 + timeout);
    }
    if (!n.ok() && n.error().code() == Code::kDeadlineExceeded) co_return co_await BodyTooSlow();
    if (!n.ok()) {
      keep_alive_ = false;
      co_return Status::Aborted("request body incomplete: " + n.error().message());
    }
    got = *n;
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

awaitable<Result<size_t>> Exchange::ReadParsedBody(std::span<std::byte> buf,
                                                   std::chrono::steady_clock::time_point deadline) {
  auto& body = parser_.get().body();
  body.data = buf.data();
  body.size = buf.size();
  Status failed;
  while (!parser_.is_done()) {
    beast::error_code ec;
    if (buffer_.size() > 0) {
      size_t used = parser_.put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_buffer) break;  // `buf` is full
      if (!ec && used > 0) continue;
      if (ec && ec != bhttp::error::need_more) {
        failed = Status::InvalidArgument(ec.message());
        break;
      }
    }
    // Not beast::read_size(): it offers only the buffer's spare capacity
    // (at least 512 bytes), and the buffer was sized by the header, so a
    // chunked body arrived in ~520-byte reads, each a syscall, a timer and a
    // coroutine resumption: 8 times the CPU of the same body with a
    // Content-Length. prepare() grows the buffer once, within its max_size.
    size_t room = std::min(kParsedBodyReadBytes, buffer_.max_size() - buffer_.size());
    if (room == 0) {
      // Chunk extensions or trailers as large as the whole read buffer.
      failed = Status::ResourceExhausted("chunk framing exceeds the read buffer");
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto space = buffer_.prepare(room);
    auto n = co_await transport_.ReadSome(std::span(static_cast<std::byte*>(space.data()), space.size()),
                                          std::max(left, std::chrono::milliseconds(1)));
    if (!n.ok()) {
      failed = n.error();
      break;
    }
    buffer_.commit(*n);
    if (*n == 0) {
      parser_.put_eof(ec);
      failed = Status::Aborted(ec ? ec.message() : "end of stream");
      break;
    }
  }
  size_t got = buf.size() - body.size;
  body.data = nullptr;
  body.size = 0;
  if (!failed.ok()) co_return failed;
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

void Exchange::ApplyCommonHeaders(ResponseHeader& res, unsigned status) {
  status_ = status;
  res.result(status);
  res.version(11);
  res.set(bhttp::field::server, "cellar");
  for (const auto& [k, v] : extra_headers_) res.set(k, v);
  // A body the handler did not read would be parsed as the next request:
  // close unless it was (nearly) consumed. The server drains small leftovers.
  res.keep_alive(keep_alive_);
}

awaitable<Status> Exchange::WriteHeader(const ResponseHeader& res, std::string_view body) {
  // Serialized here rather than by Beast's stream writer, so any Transport
  // can carry it; the body (when small and in memory) goes in the same
  // gathered write.
  std::string head;
  head.reserve(256);
  head += "HTTP/1.1 ";
  head += std::to_string(res.result_int());
  head += ' ';
  auto reason = res.reason();
  head.append(reason.data(), reason.size());
  head += "\r\n";
  for (const auto& field : res) {
    auto name = field.name_string();
    auto value = field.value();
    head.append(name.data(), name.size());
    head += ": ";
    head.append(value.data(), value.size());
    head += "\r\n";
  }
  head += "\r\n";
  const std::array<asio::const_buffer, 2> parts{asio::buffer(head), asio::buffer(body.data(), body.size())};
  co_return co_await transport_.Write(std::span(parts.data(), body.empty() ? 1 : 2), limits_.idle_timeout);
}

awaitable<Status> Exchange::Respond(unsigned status, std::string_view body,
                                    std::string_view content_type) {
  if (responded()) co_return AlreadyResponded();
  // These statuses end at the header (RFC 9110 15.2, 15.3.5, 15.4.5): a body
  // would be read as the start of the next response.
  if (status < 200 || status == 204 || status == 304) body = {};
  ResponseHeader res;
  ApplyCommonHeaders(res, status);
  if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
  res.content_length(body.size());
  // The body is sent from the caller's memory, which outlives this call: no
  // copy into the response, which for small cache hits was one of three.
  if (method() == bhttp::verb::head) co_return co_await WriteHeader(res);
  bytes_out_ += body.size();
  co_return co_await WriteHeader(res, body);
}

awaitable<Status> Exchange::RespondHeaders(unsigned status, uint64_t content_length,
                                           std::string_view content_type) {
  if (responded()) co_return AlreadyResponded();
  ResponseHeader res;
  ApplyCommonHeaders(res, status);
  if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
  res.content_length(content_length);
  co_return co_await WriteHeader(res);
}

awaitable<Status> Exchange::RespondFile(unsigned status, std::string_view content_type, int fd,
                                        uint64_t offset, uint64_t length) {
  if (Status s = co_await RespondHeaders(status, length, content_type); !s.ok()) co_return s;
  if (method() == bhttp::verb::head) co_return Status();
  Status s = co_await transport_.SendFile(fd, offset, length, limits_.idle_timeout, bytes_out_);
  if (s.ok()) co_return s;
  if (s.code() == Code::kAborted || s.code() == Code::kDeadlineExceeded) {
    keep_alive_ = false;
    co_return s;
  }
  // The file ends before the promised length or cannot be read: never pad,
  // close.
  co_return CutShort(s, length);
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
    const asio::const_buffer part = asio::buffer(buf.data(), *n);
    if (Status s = co_await transport_.Write(std::span(&part, 1), limits_.idle_timeout); !s.ok()) {
      keep_alive_ = false;
      co_return s;
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
  ResponseHeader res;
  ApplyCommonHeaders(res, status);
  if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
  res.chunked(true);
  if (Status s = co_await WriteHeader(res); !s.ok()) co_return s;
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
    const std::array<asio::const_buffer, 3> parts{asio::buffer(size_line, static_cast<size_t>(len)),
                                                  asio::buffer(buf.data(), *n),
                                                  asio::buffer("\r\n", *n ? 2 : 0)};
    if (Status s = co_await transport_.Write(parts, limits_.idle_timeout); !s.ok()) {
      keep_alive_ = false;
      co_return s;
    }
    if (*n == 0) break;
    bytes_out_ += *n;
  }
  co_return Status();
}

}  // namespace cellar::http
