// TestHttpServer: a loopback HTTP/1.1 server for the remote cache's tests.
// A handler scripts each answer: its status, headers and body, a body cut
// short, a delay before answering or a stall mid-body. One request per
// connection; every request is recorded. Test-only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cellar::taskcache {

struct TestRequest {
  std::string method;
  std::string target;  // path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::string> Header(std::string_view name) const;
};

struct TestReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<uint64_t> announced_length;  // Content-Length to send; default body.size()
  bool no_length = false;  // send neither Content-Length nor chunked; close to end
  std::chrono::milliseconds delay{0};       // before the status line
  size_t stall_after = static_cast<size_t>(-1);  // body bytes sent before stalling
  std::chrono::milliseconds stall{0};

  static TestReply Json(std::string body, int status = 200);
};

class TestHttpServer {
 public:
  using Handler = std::function<TestReply(const TestRequest&)>;
  explicit TestHttpServer(Handler handler);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  std::string url() const;  // "http://127.0.0.1:<port>"
  std::vector<TestRequest> requests() const;
  // A port on which nothing listens (bound once, then closed).
  static uint16_t UnusedPort();

 private:
  void AcceptLoop();
  void Serve(int fd);
  // Sleeps up to `d`; returns false when the server is stopping.
  bool Sleep(std::chrono::milliseconds d);

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;              // GUARDED_BY(mu_)
  std::vector<TestRequest> requests_;  // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;   // GUARDED_BY(mu_)
};

}  // namespace cellar::taskcache
