#include "http/server.h"

#include <chrono>
#include <csignal>
#include <mutex>
#include <map>
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
#include "http/socket_deadline.h"

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

// "12.345": milliseconds with microsecond precision, without printf.
std::string FormatMillis(double seconds) {
  auto us = static_cast<uint64_t>(seconds * 1e6);
  std::string frac = std::to_string(us % 1000);
  return std::to_string(us / 1000) + "." + std::string(3 - frac.size(), '0') + frac;
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
        in_flight(r.AddGauge("cellar_http_requests_in_flight", "Requests being handled.", {})) {}
  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Histogram>& latency;
  metrics::Family<metrics::Counter>& bytes_in;
  metrics::Family<metrics::Counter>& bytes_out;
  metrics::Family<metrics::Gauge>& connections;
  metrics::Family<metrics::Gauge>& in_flight;
};

// Live sessions, so Shutdown() can close the ones idling between requests.
struct SessionRegistry {
  std::mutex mu;
  std::map<void*, std::weak_ptr<Server::Session>> entries;  // GUARDED_BY(mu)
  std::atomic<int> in_flight{0};
};

class Server::Session : public std::enable_shared_from_this<Server::Session> {
 public:
  Session(Server& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {}

  // Called during shutdown: closes the connection if it is waiting for the
  // next request. Runs on the session's strand.
  void CancelIfIdle() {
    if (!idle_.load()) return;
    beast::error_code ignored;
    stream_.socket().cancel(ignored);
  }
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
      idle_ = false;
      bool keep = co_await Handle(parser, buffer, remote);
      idle_ = true;
      if (!keep) break;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
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
    server_.sessions_->in_flight++;
    server_.metrics_->in_flight.With({}).Add(1);
    ExchangeLimits limits{server_.options_.max_body_bytes, server_.options_.idle_timeout};
    Exchange ex(stream_, buffer, parser, limits, remote);

    if (auto len = ex.content_length();
        len && server_.options_.max_body_bytes && *len > server_.options_.max_body_bytes) {
      ex.set_keep_alive(false);
      co_await ex.Respond(413, "request body exceeds the server limit of " +
                                   std::to_string(server_.options_.max_body_bytes) + " bytes\n");
    } else if (const Route* route = server_.router_.Match(ex.path())) {
      ex.set_route(route->name);
      co_await route->handler(ex);
    } else {
      co_await ex.Respond(404, "no such endpoint: " + ex.path() + "\n");
    }
    if (!ex.responded()) {
      ex.set_keep_alive(false);
      co_await ex.Respond(500, "handler produced no response\n");
    }
    bool keep = ex.keep_alive() && !server_.draining();
    if (keep && !ex.body_done()) keep = co_await DrainSmallBody(ex);

    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Record(ex, seconds);
    server_.metrics_->in_flight.With({}).Add(-1);
    server_.sessions_->in_flight--;
    co_return keep;
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
    m.requests.With({ex.route(), std::string(ex.method_string()), status}).Inc();
    m.latency.With({ex.route()}).Observe(seconds);
    m.bytes_in.With({ex.route()}).Inc(ex.body_bytes_read());
    m.bytes_out.With({ex.route()}).Inc(ex.bytes_out());
    if (!server_.options_.access_log) return;
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    std::string ua(ex.Header("User-Agent").value_or(""));
    std::string line = "{\"ts\":" + std::to_string(now) + ",\"type\":\"access\",\"remote\":\"" +
                       JsonEscape(ex.remote()) + "\",\"method\":\"" +
                       JsonEscape(ex.method_string()) + "\",\"path\":\"" + JsonEscape(ex.path()) +
                       "\",\"route\":\"" + JsonEscape(ex.route()) + "\",\"status\":" + status +
                       ",\"bytes_in\":" + std::to_string(ex.body_bytes_read()) +
                       ",\"bytes_out\":" + std::to_string(ex.bytes_out()) +
                       ",\"duration_ms\":" + FormatMillis(seconds);
    if (!ex.cache_result().empty()) line += ",\"cache\":\"" + JsonEscape(ex.cache_result()) + "\"";
    if (!ex.principal().empty()) line += ",\"principal\":\"" + JsonEscape(ex.principal()) + "\"";
    line += ",\"user_agent\":\"" + JsonEscape(ua) + "\"}\n";
    server_.access_log_->Append(line);
  }

  Server& server_;
  beast::tcp_stream stream_;
  std::atomic<bool> idle_{true};
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
      access_log_(options_.access_log ? std::make_unique<AccessLog>() : nullptr) {}

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

awaitable<void> Server::AcceptLoop() {
  while (!draining()) {
    auto& target = *contexts_[next_context_++ % contexts_.size()];
    auto [ec, socket] = co_await acceptor_.async_accept(target.get_executor(), kTuple);
    if (ec) {
      if (draining() || ec == asio::error::operation_aborted) break;
      // EMFILE and friends: back off briefly instead of spinning.
      Log(LogLevel::kWarn, "accept failed", "\"error\":\"" + JsonEscape(ec.message()) + "\"");
      asio::steady_timer t(io_context(), std::chrono::milliseconds(50));
      co_await t.async_wait(kTuple);
      continue;
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

void Server::Run() {
  asio::co_spawn(io_context(), AcceptLoop(), asio::detached);
  // Work guards keep idle contexts running until DrainAndStop stops them.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& c : contexts_) guards.push_back(asio::make_work_guard(*c));
  std::vector<std::thread> threads;
  for (size_t i = 1; i < contexts_.size(); ++i) threads.emplace_back([this, i] { contexts_[i]->run(); });
  contexts_[0]->run();
  for (auto& t : threads) t.join();
}

}  // namespace cellar::http
