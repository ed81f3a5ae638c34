#include "env/curl_http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

namespace cellar::env {
namespace {

// A loopback server that answers each connection with one canned response
// (after reading the request headers), optionally stalling mid-body.
class CannedServer {
 public:
  CannedServer(std::string response, int stall_ms_after_bytes = -1, size_t stall_at = 0)
      : response_(std::move(response)), stall_ms_(stall_ms_after_bytes), stall_at_(stall_at) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url(const std::string& path = "/x") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string last_request() {
    std::lock_guard lock(mu_);
    return last_request_;
  }

 private:
  void Serve() {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(c, buf, sizeof(buf), 0);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    {
      std::lock_guard lock(mu_);
      last_request_ = req;
    }
    size_t first = stall_ms_ >= 0 ? std::min(stall_at_, response_.size()) : response_.size();
    ::send(c, response_.data(), first, MSG_NOSIGNAL);
    if (stall_ms_ >= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(stall_ms_));
      ::send(c, response_.data() + first, response_.size() - first, MSG_NOSIGNAL);
    }
    ::close(c);
  }

  std::string response_;
  int stall_ms_;
  size_t stall_at_;
  int fd_;
  uint16_t port_;
  std::thread thread_;
  std::mutex mu_;
  std::string last_request_;
};

HttpRequest Get(std::string url) {
  HttpRequest req;
  req.url = std::move(url);
  return req;
}

TEST(CurlHttpClientTest, StreamsBodyAndHeaders) {
  std::string body(300'000, 'b');
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\nETag: \"v1\"\r\n\r\n" + body);
  CurlHttpClient client;
  HttpRequest req;
  req.url = server.url();
  req.headers.emplace_back("Authorization", "Bearer secret");
  auto resp = client.Send(req);
  ASSERT_TRUE(resp.ok()) << resp.error().ToString();
  EXPECT_EQ((*resp)->head().status, 200);
  EXPECT_EQ((*resp)->head().Header("etag"), "\"v1\"");
  EXPECT_EQ((*resp)->head().ContentLength(), body.size());
  auto got = ReadAll(**resp, 1 << 20);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, body);
  EXPECT_NE(server.last_request().find("Authorization: Bearer secret"), std::string::npos);
}

TEST(CurlHttpClientTest, ErrorStatusIsAResponse) {
  CannedServer server("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop");
  CurlHttpClient client;
  auto resp = client.Send(Get(server.url()));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ((*resp)->head().status, 404);
}

TEST(CurlHttpClientTest, TruncatedBodyIsAnError) {
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nshort");
  CurlHttpClient client;
  auto resp = client.Send(Get(server.url()));
  ASSERT_TRUE(resp.ok());
  EXPECT_FALSE(ReadAll(**resp, 1 << 20).ok());
}

TEST(CurlHttpClientTest, UnreachableUpstreamIsUnavailable) {
  CurlHttpClient client;
  HttpRequest req;
  req.url = "http://127.0.0.1:1/nothing-listens-here";
  req.connect_timeout = std::chrono::milliseconds(500);
  auto resp = client.Send(req);
  EXPECT_EQ(resp.status().code(), Code::kUnavailable);
}

TEST(CurlHttpClientTest, AbandoningAResponseMidBodyDoesNotHang) {
  std::string body(20 << 20, 'z');
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  CurlHttpClient client;
  auto resp = client.Send(Get(server.url()));
  ASSERT_TRUE(resp.ok());
  std::byte buf[1024];
  ASSERT_TRUE((*resp)->Read(buf).ok());
  resp->reset();  // must cancel the transfer and join its thread
}

}  // namespace
}  // namespace cellar::env
