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

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "base/status.h"
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
  boost::asio::io_context& io_context() { return ioc_; }

  class Session;  // one client connection; defined in server.cc

 private:
  struct Metrics;
  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> DrainAndStop();

  ServerOptions options_;
  const Router& router_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  std::shared_ptr<struct SessionRegistry> sessions_;
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace cellar::http
