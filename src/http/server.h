// Server: the HTTP/1.1 listener. Accepts connections, reads request headers
// under a deadline, dispatches to the Router and writes the access log and
// request metrics. Bodies are streamed by the handlers (see exchange.h).
//
// Shutdown is graceful: Shutdown() stops accepting, closes idle keep-alive
// connections, lets in-flight requests finish (up to drain_timeout) and then
// stops the I/O threads.
// Thread-safety: Listen/Run from one thread; Shutdown from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "base/status.h"
#include "http/access_log.h"
#include "http/router.h"
#include "metrics/metrics.h"
#include "trace/tracer.h"

namespace cellar::http {

// What the server knows of a request once it is answered, for observers
// such as the dashboard's history (stats/history.h).
struct RequestSummary {
  std::string_view route;
  std::string_view path;
  std::string_view cache_result;  // "" when the handler set none
  unsigned status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double seconds = 0;
  std::string_view ns;         // "" when the handler set none
  uint64_t time_saved_ms = 0;  // build time a hit spared the client
};

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // Called on the I/O thread after every request: must not block.
  virtual void Observe(const RequestSummary& request) = 0;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = pick a free port
  int io_threads = 2;
  uint32_t max_header_bytes = 64 * 1024;
  uint64_t max_body_bytes = 0;  // 0 = unlimited (handlers still enforce their own)
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds keepalive_timeout{75'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds drain_timeout{30'000};
  bool access_log = true;
  // Open connections at most; 0 = DefaultMaxConnections(). At the cap a new
  // connection closes one that waits idle for its next request, or else is
  // answered 503 and closed.
  size_t max_connections = 0;
  // Minimum request-body rate in bytes/s over each window (see
  // ExchangeLimits); 0 = none.
  uint64_t min_body_rate = 0;
  std::chrono::milliseconds body_rate_window{10'000};
  // How often idle time is used to hand freed heap memory back to the
  // system (malloc_trim) after requests were served.
  std::chrono::milliseconds trim_interval{5'000};
  // Records a server span per request and joins the client's trace
  // (traceparent); null = tracing off. Must outlive the server.
  trace::Tracer* tracer = nullptr;
  // Told about every answered request; null = none. Must outlive the server.
  RequestObserver* observer = nullptr;
};

// The connection cap that leaves file descriptors for the server's own
// files (SQLite, git children, ...): RLIMIT_NOFILE minus a reserve (a
// quarter of it, and at least 256 when the limit allows), halved because a
// connection can hold a second descriptor (an upload's temp file, a blob
// being sent). See docs/http-limits.md.
size_t DefaultMaxConnections();

class Server {
 public:
  // `router` and `registry` must outlive the server.
  Server(ServerOptions options, const Router& router, metrics::Registry& registry);
  ~Server();

  // Binds and listens. After success, port() is the bound port.
  Status Listen();
  uint16_t port() const { return port_; }
  // Serves until Shutdown() has drained. Blocks the calling thread, which
  // becomes one of the I/O threads.
  void Run();
  // Begins a graceful shutdown. Safe to call from any thread or a signal
  // handler coroutine; idempotent.
  void Shutdown();
  bool draining() const { return draining_.load(); }
  // The first I/O context; also runs the acceptor and maintenance timers.
  boost::asio::io_context& io_context() { return *contexts_[0]; }
  size_t max_connections() const { return max_connections_; }

  class Session;  // one client connection; defined in server.cc

 private:
  struct Metrics;
  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> DrainAndStop();
  boost::asio::awaitable<void> TrimLoop();
  // At the connection cap: true when an idle connection was asked to close
  // to make room; false when none is idle.
  bool ReclaimIdleConnection();
  // Rate-limited warnings of the accept loop (a full fd table or a flood
  // would otherwise log many lines a second).
  void WarnAtMostEvery10s(std::string_view what, std::string_view detail);

  ServerOptions options_;
  const Router& router_;
  // One single-threaded io_context per I/O thread: connections are spread
  // round-robin and never migrate, so the hot path takes no locks and causes
  // no cross-thread wake-ups.
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  size_t next_context_ = 0;  // used by the accept loop only
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  std::shared_ptr<struct SessionRegistry> sessions_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<AccessLog> access_log_;  // null when the access log is off
  // Accept loop only (context 0): when the last rate-limited warning of
  // each kind was logged, and how many were suppressed since.
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, uint64_t>, std::less<>> warned_;
  const size_t max_connections_;
};

}  // namespace cellar::http
