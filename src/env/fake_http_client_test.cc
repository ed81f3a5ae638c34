#include "env/fake_http_client.h"

#include <gtest/gtest.h>

namespace cellar::env {
namespace {

Result<std::string> Fetch(HttpClient& client, const std::string& url) {
  HttpRequest req;
  req.url = url;
  CELLAR_ASSIGN_OR_RETURN(auto resp, client.Send(req));
  return ReadAll(*resp, 1 << 20);
}

TEST(FakeHttpClientTest, UnscriptedUrlsAreRefused) {
  FakeHttpClient client;
  auto got = Fetch(client, "http://up/x");
  EXPECT_EQ(got.error().code(), Code::kUnavailable);
  EXPECT_EQ(client.CallCount("http://up/x"), 1u);
}

TEST(FakeHttpClientTest, ScriptedRepliesAreTakenInOrderAndTheLastRepeats) {
  FakeHttpClient client;
  client.Queue("http://up/x", FakeReply::Ok("one", {{"ETag", "\"1\""}}));
  client.Queue("http://up/x", FakeReply::WithStatus(503));
  HttpRequest req;
  req.url = "http://up/x";
  req.headers.emplace_back("If-None-Match", "\"0\"");
  auto first = client.Send(req);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)->head().status, 200);
  EXPECT_EQ((*first)->head().Header("etag"), "\"1\"");
  EXPECT_EQ(*ReadAll(**first, 100), "one");
  for (int i = 0; i < 2; ++i) {
    auto next = client.Send(req);
    ASSERT_TRUE(next.ok());
    EXPECT_EQ((*next)->head().status, 503);
  }
  EXPECT_EQ(client.CallCount("http://up/x"), 3u);
  EXPECT_EQ(client.LastCall("http://up/x")->Header("if-none-match"), "\"0\"");
  EXPECT_FALSE(client.LastCall("http://up/other"));
}

TEST(FakeHttpClientTest, FaultsBeforeAndDuringTheBody) {
  FakeHttpClient client;
  client.Set("http://up/refuse", FakeReply::Refuse());
  client.Set("http://up/timeout", FakeReply::Timeout());
  client.Set("http://up/break", FakeReply::BreakAfter("0123456789", 4));
  client.Set("http://up/stall", FakeReply::StallAfter("0123456789", 0));
  EXPECT_EQ(Fetch(client, "http://up/refuse").error().code(), Code::kUnavailable);
  EXPECT_EQ(Fetch(client, "http://up/timeout").error().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(Fetch(client, "http://up/break").error().code(), Code::kUnavailable);
  EXPECT_EQ(Fetch(client, "http://up/stall").error().code(), Code::kDeadlineExceeded);

  HttpRequest req;
  req.url = "http://up/break";
  auto resp = client.Send(req);
  ASSERT_TRUE(resp.ok());
  std::byte buf[3];
  EXPECT_EQ(*(*resp)->Read(buf), 3u);  // the bytes before the break arrive
  EXPECT_EQ(*(*resp)->Read(buf), 1u);
  EXPECT_FALSE((*resp)->Read(buf).ok());
}

TEST(FakeHttpClientTest, DownRefusesEverythingUntilBackUp) {
  FakeHttpClient client;
  client.Set("http://up/x", FakeReply::Ok("x"));
  client.SetDown(true);
  EXPECT_EQ(Fetch(client, "http://up/x").error().code(), Code::kUnavailable);
  client.SetDown(false);
  EXPECT_EQ(*Fetch(client, "http://up/x"), "x");
  client.Clear("http://up/x");
  EXPECT_FALSE(Fetch(client, "http://up/x").ok());
  EXPECT_EQ(client.calls().size(), 3u);
}

}  // namespace
}  // namespace cellar::env
