#include "http/server.h"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "http/dispatch.h"
#include "http/request_checks.h"
#include "http/socket_deadline.h"
#include "http/socket_transport.h"

namespace cellar::http {

namespace asio = boost::asio;
namespace bhttp = beast::http;
using asio::awaitable;
using asio::ip::tcp;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Room in the read buffer beyond the header limit: Beast reads bodies in
// pieces of up to 64 KiB through it.
constexpr size_t kBodyReadSlack = 256 * 1024;

int64_t NowTicks() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

// "12.345": milliseconds with microsecond precision, without printf.
std::string FormatMillis(double seconds) {
  auto us = static_cast<uint64_t>(seconds * 1e6);
  std::string frac = std::to_string(us % 1000);
  return std::to_string(us / 1000) + "." + std::string(3 - frac.size(), '0') + frac;
}

// The method as a metrics label: one of Beast's verbs (a fixed set) or
// "other", so a client cannot mint a new series with every request.
std::string_view MethodLabel(const Exchange& ex) {
  return ex.method() == bhttp::verb::unknown ? std::string_view("other") : ex.method_string();
}
}  // namespace

struct Server::Metrics {
  explicit Metrics(metrics::Registry& r)
      : requests(r.AddCounter("cellar_http_requests_total", "HTTP requests by route, method and status.",
                              {"route", "method", "status"})),
        latency(r.AddHistogram("cellar_http_request_duration_seconds",
                               "Time from request headers to the end of the response.", {"route"},
                               metrics::LatencyBucketsSeconds())),
        bytes_in(r.AddCounter("cellar_http_bytes_in_total", "Request body bytes read.", {"route"})),
        bytes_out(r.AddCounter("cellar_http_bytes_out_total", "Response body bytes sent.", {"route"})),
        connections(r.AddGauge("cellar_http_open_connections", "Open client connections.", {})),
        in_flight(r.AddGauge("cellar_http_requests_in_flight", "Requests being handled.", {})),
        refused(r.AddCounter("cellar_http_connections_refused_total",
                             "Connections answered 503 because --max-connections were open and none was idle.",
                             {})),
        reclaimed(r.AddCounter("cellar_http_connections_reclaimed_total",
                               "Idle connections closed to make room under --max-connections.", {})) {}
  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Histogram>& latency;
  metrics::Family<metrics::Counter>& bytes_in;
  metrics::Family<metrics::Counter>& bytes_out;
  metrics::Family<metrics::Gauge>& connections;
  metrics::Family<metrics::Gauge>& in_flight;
  metrics::Family<metrics::Counter>& refused;
  metrics::Family<metrics::Counter>& reclaimed;
};

// Live sessions, so Shutdown() can close the ones idling between requests.
struct SessionRegistry {
  std::mutex mu;
  std::map<void*, std::weak_ptr<Server::Session>> entries;  // GUARDED_BY(mu)
  std::atomic<int> in_flight{0};
  std::atomic<size_t> open{0};  // Session objects alive (connections open)
  std::atomic<uint64_t> served{0};  // requests handled since the last trim
};

namespace {
// Counts one request in flight for as long as it lives, however the handler
// ends (Shutdown waits for the count to reach zero).
class InFlight {
 public:
  InFlight(SessionRegistry& sessions, metrics::Gauge& gauge) : sessions_(sessions), gauge_(gauge) {
    sessions_.in_flight++;
    gauge_.Add(1);
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  ~InFlight() {
    gauge_.Add(-1);
    sessions_.in_flight--;
  }

 private:
  SessionRegistry& sessions_;
  metrics::Gauge& gauge_;
};
}  // namespace

class Server::Session : public std::enable_shared_from_this<Server::Session> {
 public:
  Session(Server& server, tcp::socket socket)
      : server_(server), registry_(server.sessions_), stream_(std::move(socket)), transport_(stream_) {
    registry_->open++;
  }
  ~Session() { registry_->open--; }

  // Called during shutdown and to make room under the connection cap:
  // closes the connection if it is waiting for the next request. Runs on the
  // session's strand, so `idle_` means the coroutine waits for a header.
  void CancelIfIdle() {
    if (!idle_.load()) {
      reclaim_claimed_ = false;
      return;
    }
    beast::error_code ignored;
    stream_.socket().cancel(ignored);
  }
  // When this session began waiting for its next request; nullopt while it
  // handles one or once it was claimed for closing.
  std::optional<int64_t> IdleSince() const {
    if (!idle_.load() || reclaim_claimed_.load()) return std::nullopt;
    return idle_since_.load();
  }
  // Claims this session for closing; false when it is busy or already claimed.
  bool ClaimIfIdle() { return idle_.load() && !reclaim_claimed_.exchange(true); }
  auto executor() { return stream_.get_executor(); }

  awaitable<void> Run() {
    {
      std::lock_guard lock(server_.sessions_->mu);
      server_.sessions_->entries[this] = weak_from_this();
    }
    server_.metrics_->connections.With({}).Add(1);
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    std::string remote = ec ? "" : ep.address().to_string();
    stream_.socket().set_option(tcp::no_delay(true), ec);

    // Bounded: Beast limits headers and bodies but not chunk extensions or
    // trailers, which would otherwise grow this buffer without end.
    beast::flat_buffer buffer(server_.options_.max_header_bytes + kBodyReadSlack);
    bool first = true;
    while (!server_.draining()) {
      Exchange::Parser parser;
      parser.header_limit(server_.options_.max_header_bytes);
      parser.body_limit(boost::none);  // handlers and ExchangeLimits enforce limits
      auto header_deadline = first ? server_.options_.header_timeout : server_.options_.keepalive_timeout;
      first = false;
      bool has_bytes = buffer.size() > 0;
      {
        // A deadline for the whole header, so a client trickling one byte
        // per second cannot hold a connection (slowloris).
        SocketDeadline deadline(stream_.socket(), header_deadline);
        stream_.expires_never();
        auto [rec, n] = co_await bhttp::async_read_header(stream_, buffer, parser, kTuple);
        const bool timed_out = deadline.Disarm();
        has_bytes = has_bytes || n > 0 || buffer.size() > 0;
        if (rec) {
          if (timed_out && has_bytes && !server_.draining()) {
            co_await WriteSimple(408, "request headers not received in time\n");
          } else if (rec == bhttp::error::header_limit) {
            co_await WriteSimple(431, "request headers too large\n");
          } else if (rec != bhttp::error::end_of_stream && rec != asio::error::operation_aborted &&
                     rec != asio::error::eof && rec != asio::error::connection_reset && has_bytes) {
            co_await WriteSimple(400, "malformed request: " + rec.message() + "\n");
          }
          break;
        }
      }
      if (auto refusal = CheckRequestHeader(parser.get())) {
        // The body's end is unknown (or disputed): answer and close, so no
        // byte of it can run as a request.
        co_await WriteSimple(refusal->status, refusal->reason + "\n");
        break;
      }
      idle_ = false;
      bool keep = false;
      try {
        keep = co_await Handle(parser, buffer, remote);
      } catch (const std::exception& e) {
        // Handle itself threw (memory, or a bug outside the handler): the
        // request's state is unknown, so the connection ends here.
        Log(LogLevel::kError, "request failed", "\"error\":\"" + JsonEscape(e.what()) + "\"");
      }
      idle_since_ = NowTicks();
      idle_ = true;
      if (!keep) break;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (body_left_unread_) co_await LingerUntilClientCloses();
    stream_.socket().close(ignored);
    server_.metrics_->connections.With({}).Add(-1);
    std::lock_guard lock(server_.sessions_->mu);
    server_.sessions_->entries.erase(this);
  }

 private:
  awaitable<void> WriteSimple(unsigned status, std::string body) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
    res.set(bhttp::field::content_type, "text/plain");
    res.set(bhttp::field::connection, "close");
    res.body() = std::move(body);
    res.prepare_payload();
    stream_.expires_after(std::chrono::seconds(5));
    co_await bhttp::async_write(stream_, res, kTuple);
  }

  awaitable<bool> Handle(Exchange::Parser& parser, beast::flat_buffer& buffer,
                         const std::string& remote) {
    auto start = std::chrono::steady_clock::now();
    InFlight in_flight(*server_.sessions_, server_.metrics_->in_flight.With({}));
    server_.sessions_->served++;
    ExchangeLimits limits{server_.options_.max_body_bytes, server_.options_.idle_timeout,
                          server_.options_.min_body_rate, server_.options_.body_rate_window};
    Exchange ex(transport_, buffer, parser, limits, remote);
    const int64_t start_unix_ns = server_.options_.tracer ? trace::NowUnixNs() : 0;
    if (auto* tracer = server_.options_.tracer) {
      std::optional<trace::TraceContext> parent;
      if (auto header = ex.Header("traceparent")) parent = trace::ParseTraceparent(*header);
      ex.set_trace(tracer, tracer->StartServerSpan(parent));
      parent_span_ = parent ? std::optional(parent->span_id) : std::nullopt;
    }
    co_await Dispatch(server_.router_, ex, server_.options_.max_body_bytes);
    bool keep = ex.keep_alive() && !server_.draining();
    if (keep && !ex.body_done()) keep = co_await DrainSmallBody(ex);
    // A client cut off for sending too slowly (408) gets no lingering close:
    // it is the one holding the connection.
    body_left_unread_ = !ex.body_done() && ex.status() != 408;

    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Record(ex, seconds);
    if (ex.trace_context() && ex.trace_context()->sampled) RecordSpan(ex, start_unix_ns);
    co_return keep;
  }

  // Closing a socket whose receive queue holds unread bytes makes the kernel
  // send RST, and a client still sending the body of a request answered
  // early (a refusal, a storage failure) may then lose the answer before it
  // reads it. So once the answer is sent and this side shut down, whatever
  // the client still sends is read and dropped until it closes, for at most
  // two seconds and 64 MiB (a lingering close; the bounds keep a client
  // that never stops from holding the connection).
  awaitable<void> LingerUntilClientCloses() {
    std::array<char, 65536> scratch;
    uint64_t dropped = 0;
    stream_.expires_after(std::chrono::seconds(2));
    while (dropped < (64u << 20)) {
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(scratch), kTuple);
      if (ec) break;
      dropped += n;
    }
  }

  // Reads and discards a leftover body of up to 64 KiB so the connection can
  // be reused; larger leftovers close the connection instead.
  awaitable<bool> DrainSmallBody(Exchange& ex) {
    std::byte scratch[16384];
    uint64_t drained = 0;
    while (!ex.body_done()) {
      auto n = co_await ex.ReadBody(scratch);
      if (!n.ok()) co_return false;
      drained += *n;
      if (drained > 64 * 1024) co_return false;
      if (*n == 0) break;
    }
    co_return true;
  }

  void Record(Exchange& ex, double seconds) {
    auto& m = *server_.metrics_;
    std::string status = std::to_string(ex.status());
    m.requests.With({ex.route(), MethodLabel(ex), status}).Inc();
    m.latency.With({ex.route()}).Observe(seconds);
    m.bytes_in.With({ex.route()}).Inc(ex.body_bytes_read());
    m.bytes_out.With({ex.route()}).Inc(ex.bytes_out());
    if (auto* observer = server_.options_.observer) {
      observer->Observe({ex.route(), ex.path(), ex.cache_result(), ex.status(), ex.body_bytes_read(), ex.bytes_out(),
                         seconds, ex.cache_namespace(), ex.time_saved_ms()});
    }
    if (!server_.options_.access_log) return;
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    std::string ua(ex.Header("User-Agent").value_or(""));
    std::string line = "{\"ts\":" + std::to_string(now) + ",\"type\":\"access\"" + std::string(LogNodeField()) +
                       ",\"remote\":\"" +
                       JsonEscape(ex.remote()) + "\",\"method\":\"" +
                       JsonEscape(ex.method_string()) + "\",\"path\":\"" + JsonEscape(ex.path()) +
                       "\",\"route\":\"" + JsonEscape(ex.route()) + "\",\"status\":" + status +
                       ",\"bytes_in\":" + std::to_string(ex.body_bytes_read()) +
                       ",\"bytes_out\":" + std::to_string(ex.bytes_out()) +
                       ",\"duration_ms\":" + FormatMillis(seconds);
    if (!ex.cache_result().empty()) line += ",\"cache\":\"" + JsonEscape(ex.cache_result()) + "\"";
    if (!ex.cache_namespace().empty()) line += ",\"namespace\":\"" + JsonEscape(ex.cache_namespace()) + "\"";
    if (ex.time_saved_ms() > 0) line += ",\"time_saved_ms\":" + std::to_string(ex.time_saved_ms());
    if (!ex.principal().empty()) line += ",\"principal\":\"" + JsonEscape(ex.principal()) + "\"";
    if (ex.cut_short()) line += ",\"cut_short\":true";
    if (const auto* t = ex.trace_context(); t && t->sampled) {
      line += ",\"trace_id\":\"" + trace::Hex(t->trace_id) + "\",\"span_id\":\"" + trace::Hex(t->span_id) + "\"";
    }
    line += ",\"user_agent\":\"" + JsonEscape(ua) + "\"}\n";
    server_.access_log_->Append(line);
  }

  // The request's server span: what an operator filters on (OpenTelemetry's
  // HTTP names where one exists, cellar.* for the cache's own).
  void RecordSpan(Exchange& ex, int64_t start_unix_ns) {
    trace::SpanData span;
    span.context = *ex.trace_context();
    span.parent = parent_span_;
    span.name = std::string(ex.method_string()) + " " + ex.route();
    span.kind = trace::SpanKind::kServer;
    span.start_unix_ns = start_unix_ns;
    span.end_unix_ns = trace::NowUnixNs();
    // Appended one by one: an initializer list would copy every string.
    auto& a = span.attributes;
    a.reserve(9);
    a.push_back({"http.request.method", std::string(ex.method_string())});
    a.push_back({"url.path", ex.path()});
    a.push_back({"cellar.route", ex.route()});
    a.push_back({"http.response.status_code", static_cast<int64_t>(ex.status())});
    a.push_back({"client.address", ex.remote()});
    a.push_back({"http.request.body.size", static_cast<int64_t>(ex.body_bytes_read())});
    a.push_back({"http.response.body.size", static_cast<int64_t>(ex.bytes_out())});
    if (!ex.cache_result().empty()) a.push_back({"cellar.cache_result", ex.cache_result()});
    if (!ex.principal().empty()) a.push_back({"enduser.id", ex.principal()});
    if (ex.status() >= 500) {
      span.error = true;
      span.status_message = "HTTP " + std::to_string(ex.status());
    }
    server_.options_.tracer->Record(std::move(span));
  }

  Server& server_;
  std::shared_ptr<SessionRegistry> registry_;  // counts this session as open
  beast::tcp_stream stream_;
  SocketTransport transport_;  // over stream_, for the exchanges
  std::atomic<bool> idle_{true};
  std::atomic<int64_t> idle_since_{NowTicks()};
  std::atomic<bool> reclaim_claimed_{false};
  // The last request's body was not read to its end (its answer came first).
  bool body_left_unread_ = false;
  // The client's span the current request's span is a child of, if any.
  std::optional<trace::SpanId> parent_span_;
};

namespace {
std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int n) {
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (int i = 0; i < std::max(1, n); ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  return contexts;
}
}  // namespace

Server::Server(ServerOptions options, const Router& router, metrics::Registry& registry)
    : options_(std::move(options)), router_(router), contexts_(MakeContexts(options_.io_threads)),
      acceptor_(*contexts_[0]),
      sessions_(std::make_shared<SessionRegistry>()),
      metrics_(std::make_unique<Metrics>(registry)),
      access_log_(options_.access_log ? std::make_unique<AccessLog>() : nullptr),
      max_connections_(options_.max_connections ? options_.max_connections : DefaultMaxConnections()) {}

Server::~Server() = default;

Status Server::Listen() {
  // sendfile(2) cannot take MSG_NOSIGNAL: a client that disconnects during a
  // zero-copy hit would raise SIGPIPE and kill the process. EPIPE is enough.
  std::signal(SIGPIPE, SIG_IGN);
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec) return Status::InvalidArgument("bad listen address '" + options_.host + "': " + ec.message());
  tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("cannot listen on " + options_.host + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  return Status();
}

size_t DefaultMaxConnections() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 384;  // as for the common 1024
  uint64_t limit = rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : rl.rlim_cur;
  uint64_t reserve = std::max<uint64_t>(limit / 4, std::min<uint64_t>(256, limit / 2));
  // A connection can hold a second descriptor: an upload's temp file, a
  // blob being sent.
  return static_cast<size_t>(std::max<uint64_t>(1, (limit - reserve) / 2));
}

void Server::WarnAtMostEvery10s(std::string_view what, std::string_view detail) {
  auto now = std::chrono::steady_clock::now();
  auto it = warned_.find(what);
  if (it == warned_.end()) it = warned_.emplace(std::string(what), std::make_pair(now - std::chrono::hours(1), 0)).first;
  auto& [last, suppressed] = it->second;
  if (now - last < std::chrono::seconds(10)) {
    suppressed++;
    return;
  }
  Log(LogLevel::kWarn, what,
      std::string(detail) + (detail.empty() ? "" : ",") + "\"suppressed_since_last\":" + std::to_string(suppressed));
  last = now;
  suppressed = 0;
}

bool Server::ReclaimIdleConnection() {
  // The connection idle the longest: a flood of new idle connections then
  // closes its own kind first, not a client that just connected.
  std::shared_ptr<Session> oldest;
  int64_t oldest_since = 0;
  std::lock_guard lock(sessions_->mu);
  for (const auto& [key, weak] : sessions_->entries) {
    auto session = weak.lock();
    auto since = session ? session->IdleSince() : std::nullopt;
    if (!since || (oldest && *since >= oldest_since)) continue;
    oldest = std::move(session);
    oldest_since = *since;
  }
  if (!oldest || !oldest->ClaimIfIdle()) return false;
  asio::post(oldest->executor(), [oldest] { oldest->CancelIfIdle(); });
  return true;
}

namespace {
// Answers a connection beyond the cap without a session: one non-blocking
// send (it fits any socket buffer), then close.
template <typename Socket>
void RefuseConnection(Socket& socket) {
  static constexpr std::string_view kAnswer =
      "HTTP/1.1 503 Service Unavailable\r\nServer: cellar\r\nContent-Type: text/plain\r\n"
      "Content-Length: 26\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many open connections\n";
  (void)::send(socket.native_handle(), kAnswer.data(), kAnswer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}
}  // namespace

awaitable<void> Server::AcceptLoop() {
  while (!draining()) {
    auto& target = *contexts_[next_context_++ % contexts_.size()];
    auto [ec, socket] = co_await acceptor_.async_accept(target.get_executor(), kTuple);
    if (ec) {
      if (draining() || ec == asio::error::operation_aborted) break;
      // EMFILE and friends: back off briefly instead of spinning.
      WarnAtMostEvery10s("accept failed", "\"error\":\"" + JsonEscape(ec.message()) + "\"");
      asio::steady_timer t(io_context(), std::chrono::milliseconds(50));
      co_await t.async_wait(kTuple);
      continue;
    }
    if (sessions_->open.load() >= max_connections_) {
      if (ReclaimIdleConnection()) {
        metrics_->reclaimed.With({}).Inc();
      } else {
        metrics_->refused.With({}).Inc();
        WarnAtMostEvery10s("connection cap reached; answering 503",
                           "\"max_connections\":" + std::to_string(max_connections_));
        RefuseConnection(socket);
        continue;
      }
    }
    auto exec = socket.get_executor();
    auto session = std::make_shared<Session>(*this, std::move(socket));
    asio::co_spawn(exec, [session]() -> awaitable<void> { co_await session->Run(); },
                   asio::detached);
  }
}

void Server::Shutdown() {
  if (draining_.exchange(true)) return;
  asio::post(io_context(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    asio::co_spawn(io_context(), DrainAndStop(), asio::detached);
  });
}

awaitable<void> Server::DrainAndStop() {
  auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  asio::steady_timer timer(io_context());
  while (true) {
    {
      // Idle keep-alive connections are waiting for a header that should
      // not come now: cancel their reads on their own strands.
      std::lock_guard lock(sessions_->mu);
      for (const auto& [key, weak] : sessions_->entries) {
        auto session = weak.lock();
        if (!session) continue;
        asio::post(session->executor(), [session] { session->CancelIfIdle(); });
      }
    }
    if (sessions_->in_flight.load() == 0 || std::chrono::steady_clock::now() > deadline) break;
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(kTuple);
  }
  for (auto& c : contexts_) c->stop();
}

awaitable<void> Server::TrimLoop() {
  asio::steady_timer timer(io_context());
  while (!draining()) {
    timer.expires_after(options_.trim_interval);
    co_await timer.async_wait(kTuple);
    // After a burst (many uploads, large bodies) glibc keeps the freed heap;
    // once nothing is in flight, hand it back.
    if (sessions_->in_flight.load() == 0 && sessions_->served.exchange(0) > 0) malloc_trim(0);
  }
}

void Server::Run() {
  asio::co_spawn(io_context(), AcceptLoop(), asio::detached);
  asio::co_spawn(io_context(), TrimLoop(), asio::detached);
  // Work guards keep idle contexts running until DrainAndStop stops them.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& c : contexts_) guards.push_back(asio::make_work_guard(*c));
  std::vector<std::thread> threads;
  for (size_t i = 1; i < contexts_.size(); ++i) threads.emplace_back([this, i] { contexts_[i]->run(); });
  contexts_[0]->run();
  for (auto& t : threads) t.join();
}

}  // namespace cellar::http
