// The Exchange over an in-memory transport, driven by the test harness
// (testing/handler_harness.h): body framing, early ends, the body-rate 408,
// responses from memory, files and streams, and the server's dispatch
// answers, all without a socket.
#include "http/exchange.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "testing/handler_harness.h"

namespace cellar::http {
namespace {

using boost::asio::awaitable;
using testing::HandlerHarness;
using testing::HarnessOptions;
using testing::TestRequest;

// Echoes the body; a body error is answered 400 with its text (refused
// when the exchange already answered, e.g. with 408).
awaitable<void> Echo(Exchange& ex) {
  auto body = co_await ex.ReadBodyToString(1 << 20);
  if (!body.ok()) {
    co_await ex.Respond(400, body.error().ToString());
    co_return;
  }
  co_await ex.Respond(200, *body, "application/octet-stream");
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

TEST(ExchangeHarnessTest, FixedLengthBodyArrivesWhole) {
  HandlerHarness h(Echo);
  std::string body = Pattern(300'000);
  auto req = TestRequest::Upload("/x", body);
  req.max_read = 4096;
  auto r = h.Run(req);
  EXPECT_EQ(r.status, 200u) << r.error;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(body.size()));
  EXPECT_EQ(r.Header("Server"), "cellar");
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(r.body_bytes_read, body.size());
}

TEST(ExchangeHarnessTest, ChunkedBodyIsDecodedAcrossReadBoundaries) {
  HandlerHarness h(Echo);
  auto req = TestRequest::Upload("/", Pattern(10'000), {}, /*chunked=*/true);
  req.chunk_size = 333;
  req.max_read = 7;  // chunk headers split between reads
  auto r = h.Run(req);
  EXPECT_EQ(r.status, 200u) << r.error;
  EXPECT_EQ(r.body, req.body);
  EXPECT_TRUE(r.keep_alive);
}

// A chunked body read in ~520-byte pieces cost 8 times the CPU of the same
// body with a Content-Length (a 2 GiB artifact streamed by curl -T -).
TEST(ExchangeHarnessTest, ChunkedBodyIsReadInLargePieces) {
  HandlerHarness h(Echo);
  auto req = TestRequest::Upload("/", Pattern(1 << 20), {}, /*chunked=*/true);
  req.chunk_size = 64 * 1024;
  req.max_read = 64 * 1024;
  auto r = h.Run(req);
  EXPECT_EQ(r.status, 200u) << r.error;
  EXPECT_EQ(r.body, req.body);
  // 1 MiB in reads of up to 64 KiB is 17 reads and a few for the header
  // and the framing; in 520-byte reads it was over 2,000.
  EXPECT_LT(r.transport_reads, 40u);
}

TEST(ExchangeHarnessTest, AnEmptyChunkedBodyIsEmpty) {
  HandlerHarness h(Echo);
  TestRequest req;
  req.method = "POST";
  req.chunked = true;
  auto r = h.Run(req);
  EXPECT_EQ(r.status, 200u) << r.error;
  EXPECT_EQ(r.body, "");
}

TEST(ExchangeHarnessTest, AFixedLengthBodyThatEndsEarlyIsAbortedAndCloses) {
  HandlerHarness h(Echo);
  auto req = TestRequest::Upload("/", Pattern(50'000));
  req.body_bytes_sent = 20'000;
  auto r = h.Run(req);
  EXPECT_EQ(r.status, 400u) << r.error;
  EXPECT_EQ(r.body.rfind("Aborted: ", 0), 0u) << r.body;
  EXPECT_NE(r.body.find("request body incomplete"), std::string::npos) << r.body;
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(r.body_bytes_read, 20'000u);
}

TEST(ExchangeHarnessTest, AChunkedBodyThatEndsEarlyIsAborted) {
  HandlerHarness h(Echo);
  for (auto after : {MemoryTransport::AfterInput::kClose, MemoryTransport::AfterInput::kReset}) {
    auto req = TestRequest::Upload("/", Pattern(5'000), {}, /*chunked=*/true);
    req.body_bytes_sent = 2'500;  // inside a chunk, before the last one
    req.after = after;
    auto r = h.Run(req);
    EXPECT_EQ(r.status, 400u) << r.error;
    EXPECT_NE(r.body.find("request body incomplete"), std::string::npos) << r.body;
    EXPECT_FALSE(r.keep_alive);
  }
}

TEST(ExchangeHarnessTest, MalformedChunkFramingIsRefused) {
  HandlerHarness h(Echo);
  TestRequest req;
  req.raw = "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n";
  auto r = h.Run(req);
  EXPECT_EQ(r.status, 400u) << r.error;
  EXPECT_FALSE(r.keep_alive);
}

TEST(ExchangeHarnessTest, AStalledBodyGets408) {
  HarnessOptions options;
  options.limits.idle_timeout = std::chrono::milliseconds(50);
  HandlerHarness h(Echo, options);
  for (bool chunked : {false, true}) {
    auto req = TestRequest::Upload("/", Pattern(10'000));
    req.chunked = chunked;
    req.body_bytes_sent = 3'000;
    req.after = MemoryTransport::AfterInput::kStall;
    auto r = h.Run(req);
    EXPECT_EQ(r.status, 408u) << r.error << " chunked=" << chunked;
    EXPECT_EQ(r.body, "request body not received in time\n");
    EXPECT_FALSE(r.keep_alive);
  }
}

TEST(ExchangeHarnessTest, BodyBeyondTheExchangeLimitIsResourceExhausted) {
  HarnessOptions options;
  options.limits.max_body_bytes = 1000;
  HandlerHarness h(
      [](Exchange& ex) -> awaitable<void> {
        std::byte buf[400];
        Status failed;
        while (true) {
          auto n = co_await ex.ReadBody(buf);
          if (!n.ok()) failed = n.error();
          if (!n.ok() || *n == 0) break;
        }
        co_await ex.Respond(failed.ok() ? 200 : 413, failed.ToString());
      },
      options);
  auto req = TestRequest::Upload("/", Pattern(5000), {}, /*chunked=*/true);
  auto r = h.Run(req);
  EXPECT_EQ(r.status, 413u) << r.error;
  EXPECT_NE(r.body.find("exceeds 1000 bytes"), std::string::npos) << r.body;
  EXPECT_FALSE(r.keep_alive);
}

TEST(ExchangeHarnessTest, ExpectContinueIsAnsweredBeforeTheBody) {
  HandlerHarness h(Echo);
  auto r = h.Put("/x", "hello", {{"Expect", "100-continue"}});
  EXPECT_EQ(r.status, 200u) << r.error;
  EXPECT_TRUE(r.continue_sent);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.raw.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u) << r.raw;
}

TEST(ExchangeHarnessTest, QueryAndHeadersReachTheHandler) {
  HandlerHarness h([](Exchange& ex) -> awaitable<void> {
    ex.SetHeader("X-Seen", std::string(ex.Header("X-Test").value_or("-")));
    co_await ex.Respond(200, ex.path() + "|" + ex.QueryParam("a").value_or("-"));
  });
  auto r = h.Get("//p//q?a=b%20c", {{"X-Test", "v"}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "/p/q|b c");
  EXPECT_EQ(r.Header("X-Seen"), "v");
}

TEST(ExchangeHarnessTest, HeadSendsTheLengthWithoutTheBody) {
  HandlerHarness h([](Exchange& ex) -> awaitable<void> { co_await ex.Respond(200, "twelve bytes"); });
  auto r = h.Head("/x");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.Header("Content-Length"), "12");
  EXPECT_EQ(r.body, "");
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.raw.find("twelve"), std::string::npos);
}

TEST(ExchangeHarnessTest, NoContentHasNoBody) {
  HandlerHarness h([](Exchange& ex) -> awaitable<void> { co_await ex.Respond(204, "ignored"); });
  auto r = h.Delete("/x");
  EXPECT_EQ(r.status, 204u);
  EXPECT_EQ(r.raw.find("ignored"), std::string::npos) << r.raw;
}

TEST(ExchangeHarnessTest, OnlyOneResponsePerExchange) {
  HandlerHarness h([](Exchange& ex) -> awaitable<void> {
    co_await ex.Respond(200, "first");
    Status second = co_await ex.Respond(500, "second");
    EXPECT_EQ(second.code(), Code::kInternal);
  });
  auto r = h.Get("/x");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "first");
  EXPECT_EQ(r.raw.find("second"), std::string::npos);
}

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char path[] = "/tmp/cellar-exchange-XXXXXX";
    fd_ = ::mkstemp(path);
    path_ = path;
    EXPECT_EQ(::write(fd_, contents.data(), contents.size()), static_cast<ssize_t>(contents.size()));
  }
  ~TempFile() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string path_;
};

TEST(ExchangeHarnessTest, RespondFileSendsTheRange) {
  std::string contents = Pattern(3 << 20);
  TempFile file(contents);
  HandlerHarness h([&](Exchange& ex) -> awaitable<void> {
    co_await ex.RespondFile(200, "application/octet-stream", file.fd(), 1000, contents.size() - 2000);
  });
  auto r = h.Get("/x");
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(r.cut_short);
  EXPECT_EQ(r.body, contents.substr(1000, contents.size() - 2000));
}

TEST(ExchangeHarnessTest, AShortFileCutsTheResponseShort) {
  TempFile file("only this much");
  HandlerHarness h([&](Exchange& ex) -> awaitable<void> {
    Status s = co_await ex.RespondFile(200, "text/plain", file.fd(), 0, 100);
    EXPECT_EQ(s.code(), Code::kCorruption);
  });
  auto r = h.Get("/x");
  EXPECT_EQ(r.status, 200u);
  EXPECT_FALSE(r.complete);
  EXPECT_TRUE(r.cut_short);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(r.body, "only this much");
}

TEST(ExchangeHarnessTest, AStreamThatEndsEarlyIsCutShort) {
  HandlerHarness h([](Exchange& ex) -> awaitable<void> {
    int calls = 0;
    co_await ex.RespondStream(200, "text/plain", 10, [&](std::span<std::byte> out) -> Result<size_t> {
      if (calls++ > 0) return size_t{0};
      out[0] = std::byte{'x'};
      return size_t{1};
    });
  });
  auto r = h.Get("/x");
  EXPECT_EQ(r.status, 200u);
  EXPECT_FALSE(r.complete);
  EXPECT_TRUE(r.cut_short);
  EXPECT_EQ(r.body, "x");
}

TEST(ExchangeHarnessTest, ChunkedResponsesAreReassembled) {
  std::string payload = Pattern(200'000);
  HandlerHarness h([&](Exchange& ex) -> awaitable<void> {
    size_t pos = 0;
    co_await ex.RespondChunked(200, "text/plain", [&](std::span<std::byte> out) -> awaitable<Result<size_t>> {
      size_t n = std::min<size_t>({out.size(), 5000, payload.size() - pos});
      std::memcpy(out.data(), payload.data() + pos, n);
      pos += n;
      co_return n;
    });
  });
  auto r = h.Get("/x");
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.Header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(r.body, payload);
}

TEST(ExchangeHarnessTest, AClientThatStopsReadingFailsTheWrite) {
  std::string payload = Pattern(100'000);
  Status write_status;
  HandlerHarness h([&](Exchange& ex) -> awaitable<void> {
    write_status = co_await ex.Respond(200, payload);
  });
  TestRequest req;
  req.read_limit = 1000;
  auto r = h.Run(req);
  EXPECT_EQ(write_status.code(), Code::kAborted);
  EXPECT_FALSE(r.complete);
}

// The answers http::Dispatch gives before and after the route's handler.
class DispatchTest : public ::testing::Test {
 protected:
  DispatchTest() {
    router_.Add("/ok", "ok", [](Exchange& ex) -> awaitable<void> { co_await ex.Respond(200, "ok"); });
    router_.Add("/throws", "throws", [](Exchange& ex) -> awaitable<void> {
      if (ex.path() != "") throw std::runtime_error("boom with detail");
      co_return;
    });
    router_.Add("/silent", "silent", [](Exchange&) -> awaitable<void> { co_return; });
  }
  Router router_;
};

TEST_F(DispatchTest, RoutesAndUnknownPaths) {
  HandlerHarness h(router_);
  auto r = h.Get("/ok");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.route, "ok");
  r = h.Get("/nothing-here");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.route, "unmatched");
}

TEST_F(DispatchTest, AnUnknownMethodIs501) {
  HandlerHarness h(router_);
  auto r = h.Send("BREW", "/ok");
  EXPECT_EQ(r.status, 501u);
}

TEST_F(DispatchTest, AThrowingOrSilentHandlerGetsAFixed500AndCloses) {
  HandlerHarness h(router_);
  auto r = h.Get("/throws");
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(r.body, "internal error\n");
  EXPECT_FALSE(r.keep_alive);
  r = h.Get("/silent");
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(r.body, "handler produced no response\n");
}

TEST_F(DispatchTest, TheServerBodyLimitAnswers413BeforeTheHandler) {
  HarnessOptions options;
  options.max_body_bytes = 10;
  HandlerHarness h(router_, options);
  auto r = h.Put("/ok", std::string(11, 'x'));
  EXPECT_EQ(r.status, 413u);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(h.Put("/ok", std::string(10, 'x')).status, 200u);
}

TEST_F(DispatchTest, RequestsWithAmbiguousFramingAreRefusedBeforeDispatch) {
  HandlerHarness h(router_);
  TestRequest req;
  req.method = "PUT";
  req.target = "/ok";
  for (const std::string& coding : std::vector<std::string>{"xchunked", "chunked, identity"}) {
    req.headers = {{"Transfer-Encoding", coding}};
    auto r = h.Run(req);
    EXPECT_TRUE(r.refused_before_dispatch) << coding;
    EXPECT_EQ(r.status, 400u) << coding;
    EXPECT_FALSE(r.keep_alive);
  }
  req.headers = {{"Transfer-Encoding", "gzip, chunked"}};
  EXPECT_EQ(h.Run(req).status, 501u);
  // Beast's parser itself refuses both framings at once.
  req.headers = {{"Transfer-Encoding", "chunked"}, {"Content-Length", "3"}};
  auto r = h.Run(req);
  EXPECT_EQ(r.status, 400u) << r.error;
  EXPECT_TRUE(r.refused_before_dispatch);
  req.raw = "GET /ok HTTP/1.1\r\n\r\n";  // no Host
  EXPECT_EQ(h.Run(req).status, 400u);
}

}  // namespace
}  // namespace cellar::http
