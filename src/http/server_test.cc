#include "http/server.h"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace cellar::http {
namespace {

namespace asio = boost::asio;
using asio::awaitable;

// Starts a real server on port 0 with an echo route, runs it on a thread.
class ServerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options) {
    options.port = 0;
    options.access_log = false;
    router_.Add("/echo", "echo", [](Exchange& ex) -> awaitable<void> {
      auto body = co_await ex.ReadBodyToString(1 << 20);
      if (!body.ok()) {
        co_await ex.Respond(413, body.error().message());
        co_return;
      }
      co_await ex.Respond(200, *body);
    });
    server_ = std::make_unique<Server>(options, router_, registry_);
    ASSERT_TRUE(server_->Listen().ok());
    thread_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (thread_.joinable()) thread_.join();
  }

  // Sends raw bytes, returns everything the server sends until it closes.
  std::string RoundTrip(const std::string& request, bool half_close = true) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    asio::write(s, asio::buffer(request));
    if (half_close) s.shutdown(asio::ip::tcp::socket::shutdown_send);
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    while (true) {
      size_t n = s.read_some(asio::buffer(buf), ec);
      if (ec) break;
      out.append(buf, n);
    }
    return out;
  }

  Router router_;
  metrics::Registry registry_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(ServerTest, EchoesBodyAndKeepsAlive) {
  Start({});
  std::string req = "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  std::string out = RoundTrip(req + req);
  EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos);
  // Two responses on one connection.
  EXPECT_NE(out.find("hello", out.find("hello") + 1), std::string::npos);
}

TEST_F(ServerTest, ChunkedBodyIsDecoded) {
  Start({});
  std::string out = RoundTrip(
      "PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_NE(out.find("\r\n\r\nabcde"), std::string::npos) << out;
}

TEST_F(ServerTest, UnknownPathIs404) {
  Start({});
  EXPECT_NE(RoundTrip("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 404"), std::string::npos);
}

TEST_F(ServerTest, MalformedRequestIs400) {
  Start({});
  EXPECT_NE(RoundTrip("NOT HTTP AT ALL\r\n\r\n").find("HTTP/1.1 400"), std::string::npos);
}

TEST_F(ServerTest, DeclaredBodyOverLimitIs413) {
  ServerOptions o;
  o.max_body_bytes = 10;
  Start(o);
  std::string out = RoundTrip("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
  EXPECT_NE(out.find("HTTP/1.1 413"), std::string::npos) << out;
}

TEST_F(ServerTest, SlowHeadersGet408) {
  ServerOptions o;
  o.header_timeout = std::chrono::milliseconds(300);
  Start(o);
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  asio::write(s, asio::buffer(std::string("GET /echo HTTP/1.1\r\nHo")));
  std::string out;
  boost::system::error_code ec;
  char buf[1024];
  while (true) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  EXPECT_NE(out.find("HTTP/1.1 408"), std::string::npos) << out;
}

TEST_F(ServerTest, ChunkedResponseStreamsUntilTheSourceEnds) {
  router_.Add("/chunks", "chunks", [](Exchange& ex) -> awaitable<void> {
    int calls = 0;
    co_await ex.RespondChunked(200, "text/plain", [&calls](std::span<std::byte> out) -> awaitable<Result<size_t>> {
      if (++calls > 3) co_return size_t{0};
      std::string piece = "part" + std::to_string(calls);
      std::memcpy(out.data(), piece.data(), piece.size());
      co_return piece.size();
    });
  });
  Start({});
  std::string out = RoundTrip("GET /chunks HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(out.find("Transfer-Encoding: chunked"), std::string::npos) << out;
  EXPECT_NE(out.find("5\r\npart1\r\n5\r\npart2\r\n5\r\npart3\r\n0\r\n\r\n"), std::string::npos) << out;
}

// A client that hangs up in the middle of a zero-copy file response must not
// take the process down (sendfile raises SIGPIPE unless it is ignored).
TEST_F(ServerTest, ClientHangingUpDuringSendfileLeavesServerUp) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  std::string chunk(1 << 20, 'x');
  for (int i = 0; i < 32; ++i) std::fwrite(chunk.data(), 1, chunk.size(), file);
  std::fflush(file);
  int fd = fileno(file);
  router_.Add("/file", "file", [fd](Exchange& ex) -> awaitable<void> {
    co_await ex.RespondFile(200, "application/octet-stream", fd, 0, 32u << 20);
  });
  Start({});
  for (int attempt = 0; attempt < 3; ++attempt) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    asio::write(s, asio::buffer(std::string("GET /file HTTP/1.1\r\nHost: x\r\n\r\n")));
    char buf[4096];
    boost::system::error_code ec;
    s.read_some(asio::buffer(buf), ec);
    // Reset rather than close, so the server's next write fails at once.
    s.set_option(asio::socket_base::linger(true, 0));
    s.close();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string out = RoundTrip("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << out;
  std::fclose(file);
}

// Issue 13, defect 2: every distinct method string became a permanent label
// of cellar_http_requests_total (35,000 random 2,000-character methods grew
// the process by 49 MB and /metrics to 71 MB).
TEST_F(ServerTest, UnknownMethodsGet501AndShareOneMetricsLabel) {
  Start({});
  std::mt19937 rng(13);
  std::string methods;
  for (int i = 0; i < 50; ++i) {
    std::string method(2000, 'A');
    for (char& c : method) c = static_cast<char>('A' + rng() % 26);
    std::string out = RoundTrip(method + " /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(out.find("HTTP/1.1 501"), std::string::npos) << out.substr(0, 200);
  }
  std::string text = registry_.RenderText();
  EXPECT_LT(text.size(), 20'000u);
  EXPECT_NE(text.find("cellar_http_requests_total{route=\"unmatched\",method=\"other\",status=\"501\"} 50"),
            std::string::npos) << text.substr(0, 2000);
  // Known methods keep their own label.
  EXPECT_NE(RoundTrip("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx").find("HTTP/1.1 200"),
            std::string::npos);
  EXPECT_NE(registry_.RenderText().find("method=\"PUT\""), std::string::npos);
}

// Issue 13, defect 5: a handler that threw ended the connection without an
// answer and left the in-flight count up, so Shutdown waited out the whole
// drain timeout.
TEST_F(ServerTest, HandlerExceptionAnswers500AndShutdownStaysPrompt) {
  router_.Add("/throw", "throw", [](Exchange&) -> awaitable<void> {
    throw std::runtime_error("create /secret/data/tmp/x: Not a directory");
    co_return;
  });
  ServerOptions o;
  o.drain_timeout = std::chrono::seconds(20);
  Start(o);
  for (int i = 0; i < 3; ++i) {
    std::string out = RoundTrip("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(out.find("HTTP/1.1 500"), std::string::npos) << out;
    EXPECT_NE(out.find("internal error"), std::string::npos) << out;
    EXPECT_EQ(out.find("/secret"), std::string::npos) << out;
  }
  std::string text = registry_.RenderText();
  EXPECT_NE(text.find("cellar_http_requests_in_flight 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cellar_http_requests_total{route=\"throw\",method=\"GET\",status=\"500\"} 3"),
            std::string::npos) << text;
  auto t0 = std::chrono::steady_clock::now();
  server_->Shutdown();
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

// A throw after the headers went out cannot turn into a 500: the
// connection closes, so the client sees a short body, never a complete one.
TEST_F(ServerTest, HandlerExceptionMidResponseClosesTheConnection) {
  router_.Add("/throw-mid", "throw", [](Exchange& ex) -> awaitable<void> {
    int calls = 0;
    co_await ex.RespondStream(200, "text/plain", 100'000, [&calls](std::span<std::byte> out) -> Result<size_t> {
      if (++calls > 1) throw std::runtime_error("source broke");
      std::memset(out.data(), 'a', 1000);
      return size_t{1000};
    });
  });
  Start({});
  std::string req = "GET /throw-mid HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string out = RoundTrip(req + req, /*half_close=*/false);
  EXPECT_NE(out.find("Content-Length: 100000"), std::string::npos) << out.substr(0, 300);
  size_t body = out.size() - (out.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, 1000u);
  EXPECT_EQ(out.find("HTTP/1.1", 1), std::string::npos);  // no second answer
  EXPECT_NE(registry_.RenderText().find("cellar_http_requests_in_flight 0\n"), std::string::npos);
}

// Body bytes after the first blank line of `out`.
size_t BodySize(const std::string& out) {
  size_t end = out.find("\r\n\r\n");
  return end == std::string::npos ? 0 : out.size() - end - 4;
}

// Issue 13, defect 7: a response body that cannot be completed must end the
// connection, never look complete, and never be followed by a second answer.
TEST_F(ServerTest, StreamThatFailsThenRespondsAgainSendsNoSecondAnswer) {
  router_.Add("/fail", "fail", [](Exchange& ex) -> awaitable<void> {
    int calls = 0;
    Status s = co_await ex.RespondStream(200, "text/plain", 10'000, [&calls](std::span<std::byte> out) -> Result<size_t> {
      if (++calls > 1) return Status::Corruption("checksum mismatch");
      std::memset(out.data(), 'a', 100);
      return size_t{100};
    });
    EXPECT_FALSE(s.ok());
    // A handler that answers its own failure must not reach the client.
    Status again = co_await ex.Respond(500, "stream failed\n");
    EXPECT_FALSE(again.ok());
  });
  Start({});
  std::string req = "GET /fail HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string out = RoundTrip(req + req, /*half_close=*/false);
  EXPECT_EQ(BodySize(out), 100u) << out.substr(0, 300);
  EXPECT_EQ(out.find("stream failed"), std::string::npos);
  EXPECT_EQ(out.find("HTTP/1.1", 1), std::string::npos);
}

TEST_F(ServerTest, SourceClaimingMoreThanAskedDoesNotPadTheBody) {
  router_.Add("/long", "long", [](Exchange& ex) -> awaitable<void> {
    int calls = 0;
    co_await ex.RespondStream(200, "text/plain", 100, [&calls](std::span<std::byte> out) -> Result<size_t> {
      if (++calls > 1) return size_t{0};
      std::memset(out.data(), 'a', out.size());
      return out.size() + 50;  // a buggy source: more than the span holds
    });
  });
  Start({});
  std::string out = RoundTrip("GET /long HTTP/1.1\r\nHost: x\r\n\r\n", /*half_close=*/false);
  EXPECT_NE(out.find("Content-Length: 100"), std::string::npos) << out.substr(0, 300);
  EXPECT_LT(BodySize(out), 100u);
}

TEST_F(ServerTest, StreamEndingEarlyClosesTheConnection) {
  router_.Add("/early", "early", [](Exchange& ex) -> awaitable<void> {
    int calls = 0;
    co_await ex.RespondStream(200, "text/plain", 5000, [&calls](std::span<std::byte> out) -> Result<size_t> {
      if (++calls > 2) return size_t{0};
      std::memset(out.data(), 'a', 1000);
      return size_t{1000};
    });
  });
  Start({});
  std::string req = "GET /early HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string out = RoundTrip(req + req, /*half_close=*/false);  // returns only once closed
  EXPECT_EQ(BodySize(out), 2000u);
  EXPECT_EQ(out.find("HTTP/1.1", 1), std::string::npos);
}

TEST_F(ServerTest, FileShorterThanPromisedClosesTheConnection) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  std::string data(3000, 'f');
  std::fwrite(data.data(), 1, data.size(), file);
  std::fflush(file);
  int fd = fileno(file);
  router_.Add("/short-file", "file", [fd](Exchange& ex) -> awaitable<void> {
    co_await ex.RespondFile(200, "application/octet-stream", fd, 1000, 5000);
  });
  Start({});
  std::string req = "GET /short-file HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string out = RoundTrip(req + req, /*half_close=*/false);
  EXPECT_NE(out.find("Content-Length: 5000"), std::string::npos) << out.substr(0, 300);
  EXPECT_EQ(BodySize(out), 2000u);
  EXPECT_EQ(out.find("HTTP/1.1", 1), std::string::npos);
  std::fclose(file);
}

// Reads what the server sends until it closes or `limit` passes.
std::string ReadUntilClosed(asio::ip::tcp::socket& s, std::chrono::milliseconds limit) {
  timeval tv{static_cast<time_t>(limit.count() / 1000), static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Issue 13, defect 6: a body trickling in (here 1 byte per 50 ms) never
// tripped the per-read idle timeout and held its connection and temp file.
TEST_F(ServerTest, UploadBelowTheMinimumRateIsCutWith408) {
  ServerOptions o;
  o.min_body_rate = 1000;
  o.body_rate_window = std::chrono::milliseconds(400);
  Start(o);
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  asio::write(s, asio::buffer(std::string("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")));
  auto t0 = std::chrono::steady_clock::now();
  boost::system::error_code ec;
  for (int i = 0; i < 100 && s.available(ec) == 0 && !ec; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    asio::write(s, asio::buffer(std::string("x")), ec);
  }
  std::string out = ReadUntilClosed(s, std::chrono::seconds(3));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(out.find("HTTP/1.1 408"), std::string::npos) << out;
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST_F(ServerTest, UploadAboveTheMinimumRateCompletes) {
  ServerOptions o;
  o.min_body_rate = 100;
  o.body_rate_window = std::chrono::milliseconds(200);
  Start(o);
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  asio::write(s, asio::buffer(std::string("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 300\r\n\r\n")));
  for (int i = 0; i < 10; ++i) {  // 30 bytes every 50 ms: 600 bytes/s
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    asio::write(s, asio::buffer(std::string(30, 'y')));
  }
  s.shutdown(asio::ip::tcp::socket::shutdown_send);
  std::string out = ReadUntilClosed(s, std::chrono::seconds(3));
  EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << out;
  EXPECT_NE(out.find(std::string(300, 'y')), std::string::npos);
}

// At the cap a new connection takes the place of one idling between
// requests (the fd table is never exhausted and /healthz keeps answering).
TEST_F(ServerTest, ConnectionCapClosesAnIdleConnectionForANewOne) {
  ServerOptions o;
  o.max_connections = 2;
  Start(o);
  asio::io_context io;
  asio::ip::tcp::socket a(io), b(io);
  a.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  b.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string out = RoundTrip("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << out;
  EXPECT_NE(registry_.RenderText().find("cellar_http_connections_reclaimed_total 1"), std::string::npos);
}

TEST_F(ServerTest, ConnectionCapAnswers503WhenNoConnectionIsIdle) {
  ServerOptions o;
  o.max_connections = 2;
  Start(o);
  asio::io_context io;
  asio::ip::tcp::socket a(io), b(io);
  for (auto* s : {&a, &b}) {
    s->connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    // Busy: headers sent, the body still to come.
    asio::write(*s, asio::buffer(std::string("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  asio::ip::tcp::socket c(io);
  c.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  std::string out = ReadUntilClosed(c, std::chrono::seconds(2));
  EXPECT_NE(out.find("HTTP/1.1 503"), std::string::npos) << out;
  EXPECT_NE(registry_.RenderText().find("cellar_http_connections_refused_total 1"), std::string::npos);
  // The busy ones are served once their bodies come.
  asio::write(a, asio::buffer(std::string("0123456789")));
  a.shutdown(asio::ip::tcp::socket::shutdown_send);
  EXPECT_NE(ReadUntilClosed(a, std::chrono::seconds(2)).find("HTTP/1.1 200"), std::string::npos);
}

TEST(DefaultMaxConnectionsTest, KeepsAReserveOfTheFileLimit) {
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  rlimit small = old;
  small.rlim_cur = std::min<rlim_t>(old.rlim_max, 1024);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &small), 0);
  EXPECT_EQ(DefaultMaxConnections(), (small.rlim_cur - 256) / 2);
  small.rlim_cur = std::min<rlim_t>(old.rlim_max, 200);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &small), 0);
  EXPECT_EQ(DefaultMaxConnections(), small.rlim_cur / 4);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
}

// An answer given before the body was read (a refusal, a storage failure)
// closes the connection. Closed with the body's bytes still unread, the
// socket would send RST, and a client still uploading could lose the
// answer (curl then reports its 100 Continue as the last status). The
// server instead stops sending and reads the rest until the client closes.
TEST_F(ServerTest, AnAnswerBeforeTheBodyEndsIsFollowedByALingeringClose) {
  router_.Add("/refuse", "refuse", [](Exchange& ex) -> awaitable<void> {
    co_await ex.Respond(500, "storage failure\n");  // not a byte of the body read
  });
  Start({});
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  const std::string chunk(1 << 20, 'b');
  asio::write(s, asio::buffer(std::string("PUT /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 16777216\r\n\r\n")));
  asio::write(s, asio::buffer(chunk));
  std::string head;
  char buf[4096];
  boost::system::error_code ec;
  while (head.find("storage failure") == std::string::npos) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    ASSERT_FALSE(ec) << "the answer was lost: " << ec.message() << " after '" << head << "'";
    head.append(buf, n);
  }
  EXPECT_NE(head.find("HTTP/1.1 500"), std::string::npos) << head;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // The client goes on sending the body it declared: the server still
  // reads it (a closed socket would answer with RST and fail these writes).
  for (int i = 0; i < 8 && !ec; ++i) asio::write(s, asio::buffer(chunk), ec);
  EXPECT_FALSE(ec) << ec.message();
  // Then the server's end of the answer: EOF, not a reset.
  s.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  size_t n = s.read_some(asio::buffer(buf), ec);
  EXPECT_EQ(ec, asio::error::eof) << ec.message() << " (" << n << " more bytes)";
}

TEST_F(ServerTest, ShutdownWaitsForInFlightRequest) {
  Start({});
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  // Headers now, body after shutdown has begun: the request must complete.
  asio::write(s, asio::buffer(std::string("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n")));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server_->Shutdown();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  asio::write(s, asio::buffer(std::string("late")));
  std::string out;
  boost::system::error_code ec;
  char buf[1024];
  while (true) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << out;
  EXPECT_NE(out.find("late"), std::string::npos);
}

}  // namespace
}  // namespace cellar::http
