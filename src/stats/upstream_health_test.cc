#include "stats/upstream_health.h"

#include <gtest/gtest.h>

#include "env/fake_http_client.h"

namespace cellar::stats {
namespace {

TEST(UpstreamHealthTest, HostOfDropsCredentialsAndPath) {
  EXPECT_EQ(HostOf("https://user:pw@registry.npmjs.org:443/left-pad?x=1"), "registry.npmjs.org:443");
  EXPECT_EQ(HostOf("http://127.0.0.1:8080"), "127.0.0.1:8080");
}

TEST(UpstreamHealthTest, RecordsAnswersBytesErrorsAndPercentiles) {
  int64_t now = 1'000'000;
  UpstreamHealth health([&now] { return now; });
  RequestTally tally;
  env::FakeHttpClient upstream;
  upstream.Set("http://registry.test/a", env::FakeReply::Ok("0123456789"));
  upstream.Set("http://registry.test/down", env::FakeReply::WithStatus(503));
  upstream.Set("http://registry.test/broken", env::FakeReply::BreakAfter("0123456789", 4));
  HealthRecordingClient client(upstream, health, tally);
  {
    auto r = client.Send(env::GetRequest("http://registry.test/a"));
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(env::ReadAll(**r, 100).ok());
  }
  now += 1000;
  ASSERT_TRUE(client.Send(env::GetRequest("http://registry.test/down")).ok());
  {
    auto r = client.Send(env::GetRequest("http://registry.test/broken"));
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(env::ReadAll(**r, 100).ok());
  }
  now += 1000;
  EXPECT_FALSE(client.Send(env::GetRequest("http://other.test/refused")).ok());

  auto hosts = health.Snapshot();
  ASSERT_EQ(hosts.size(), 2u);
  const auto& other = hosts[0];
  EXPECT_EQ(other.host, "other.test");
  EXPECT_EQ(other.errors, 1u);
  EXPECT_EQ(other.last_success_ms, 0);
  EXPECT_EQ(other.last_error_ms, 1'002'000);
  const auto& reg = hosts[1];
  EXPECT_EQ(reg.host, "registry.test");
  EXPECT_EQ(reg.requests, 3u);
  EXPECT_EQ(reg.errors, 2u);  // the 503 and the broken body
  EXPECT_EQ(reg.bytes, 14u);
  EXPECT_EQ(reg.last_success_ms, 1'001'000);
  EXPECT_NE(reg.last_error.find("body"), std::string::npos);
  EXPECT_GT(reg.p50_ms, 0);
  EXPECT_GE(reg.p99_ms, reg.p50_ms);

  uint64_t bytes = 0, requests = 0;
  for (const auto& row : tally.Peek()) {
    EXPECT_EQ(row.route, kUpstreamRoute);
    bytes += row.counts.bytes_out;
    requests += row.counts.requests;
  }
  EXPECT_EQ(bytes, 14u);
  EXPECT_EQ(requests, 4u);
}

}  // namespace
}  // namespace cellar::stats
