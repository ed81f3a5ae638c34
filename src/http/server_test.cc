#include "http/server.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
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
