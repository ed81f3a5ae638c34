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
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "base/status.h"
#include "http/access_log.h"
#include "http/router.h"
#include "metrics/metrics.h"

namespace cellar::http {

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
};

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

  class Session;  // one client connection; defined in server.cc

 private:
  struct Metrics;
  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> DrainAndStop();

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
};

}  // namespace cellar::http
