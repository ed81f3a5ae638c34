#include "stats/history.h"

#include <atomic>
#include <filesystem>

#include <gtest/gtest.h>

namespace cellar::stats {
namespace {

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("history-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<History> Open() {
    auto db = StatsDb::Open((dir_ / "stats.db").string());
    EXPECT_TRUE(db.ok()) << db.error().ToString();
    return std::make_unique<History>(std::move(*db), [this] { return now_ms_.load(); });
  }
  static Counts Request(uint64_t bytes_out, uint64_t ms = 2) {
    Counts c;
    c.requests = 1;
    c.bytes_out = bytes_out;
    c.duration_ms = ms;
    return c;
  }
  std::filesystem::path dir_;
  // 2026-12-04 10:00:30 UTC.
  std::atomic<int64_t> now_ms_{1'796'378'430'000};
};

TEST_F(HistoryTest, TotalsPerProtocolHitRateAndBandwidthSaved) {
  auto history = Open();
  auto& tally = history->tally();
  const int64_t t = now_ms_;
  tally.Record(t, "npm", "hit", Request(1000));
  tally.Record(t, "npm", "hit", Request(1000));
  tally.Record(t, "npm", "fill", Request(1000));
  tally.Record(t, "turbo", "miss", Request(0));
  tally.Record(t, "turbo", "", Request(0));  // an upload: neither hit nor miss
  Counts fetched;
  fetched.requests = 1;
  fetched.bytes_out = 1500;
  tally.Record(t, kUpstreamRoute, "registry.test", fetched);
  auto j = history->Query(*ParseRange("1h"));
  ASSERT_TRUE(j.ok()) << j.error().ToString();
  const auto& totals = (*j)["totals"];
  EXPECT_EQ(totals["requests"], 5);
  EXPECT_EQ(totals["hits"], 2);
  EXPECT_EQ(totals["misses"], 2);
  EXPECT_DOUBLE_EQ(totals["hit_rate"].get<double>(), 0.5);
  EXPECT_EQ(totals["bytes_served"], 3000);
  EXPECT_EQ(totals["bytes_from_cache"], 2000);
  EXPECT_EQ(totals["bytes_from_upstreams"], 1500);
  ASSERT_EQ((*j)["protocols"].size(), 2u);
  EXPECT_EQ((*j)["protocols"][0]["protocol"], "npm");
  EXPECT_NEAR((*j)["protocols"][0]["hit_rate"].get<double>(), 2.0 / 3, 1e-9);
  EXPECT_EQ((*j)["upstreams"][0]["host"], "registry.test");
  ASSERT_EQ((*j)["series"].size(), 60u);
  EXPECT_EQ((*j)["series"][59]["requests"], 5);  // the current minute is the last point
  EXPECT_EQ((*j)["series"][58]["requests"], 0);
}

TEST_F(HistoryTest, NamespacesTimeSavedAndEvictionsAreTalliedBesideTheProtocols) {
  auto history = Open();
  auto& tally = history->tally();
  const int64_t t = now_ms_;
  tally.Record(t, "turbo", "hit", Request(100));
  tally.Record(t, kNamespaceRoute, NamespaceResult("turbo/team_a", "hit"), Request(100));
  tally.Record(t, "turbo", "miss", Request(0));
  tally.Record(t, kNamespaceRoute, NamespaceResult("turbo/team_a", "miss"), Request(0));
  tally.Record(t, "npm", "hit", Request(40));
  tally.Record(t, kNamespaceRoute, NamespaceResult("npm/tarball", "hit"), Request(40));
  Counts saved;
  saved.requests = 1;
  saved.duration_ms = 7500;
  tally.Record(t, kTimeSavedRoute, "turbo", saved);
  Counts evicted;
  evicted.requests = 3;
  evicted.bytes_out = 3000;
  tally.Record(t - 120'000, kEvictionRoute, "bazel/cas", evicted);  // two minutes ago, flushed below
  ASSERT_TRUE(history->Flush(false).ok());
  for (const char* range : {"1h", "24h"}) {
    auto j = history->Query(*ParseRange(range));
    ASSERT_TRUE(j.ok()) << j.error().ToString();
    const auto& totals = (*j)["totals"];
    EXPECT_EQ(totals["requests"], 3) << range;  // the extra rows are not requests
    EXPECT_EQ(totals["time_saved_ms"], 7500) << range;
    EXPECT_EQ(totals["time_saved_hits"], 1) << range;
    EXPECT_EQ(totals["evicted_entries"], 3) << range;
    EXPECT_EQ(totals["evicted_bytes"], 3000) << range;
    const auto& protocols = (*j)["protocols"];
    ASSERT_EQ(protocols.size(), 2u) << range;  // npm, turbo: no "_" rows
    EXPECT_EQ(protocols[1]["protocol"], "turbo");
    EXPECT_EQ(protocols[1]["time_saved_ms"], 7500);
    EXPECT_EQ(protocols[0]["time_saved_ms"], 0);
    const auto& ns = (*j)["namespaces"];
    ASSERT_EQ(ns.size(), 3u) << ns.dump();
    EXPECT_EQ(ns[0]["namespace"], "bazel/cas");
    EXPECT_EQ(ns[0]["requests"], 0);
    EXPECT_EQ(ns[0]["evicted_entries"], 3);
    EXPECT_EQ(ns[2]["namespace"], "turbo/team_a");
    EXPECT_EQ(ns[2]["requests"], 2);
    EXPECT_EQ(ns[2]["hits"], 1);
    EXPECT_DOUBLE_EQ(ns[2]["hit_rate"].get<double>(), 0.5);
    EXPECT_EQ(ns[2]["bytes_from_cache"], 100);
    uint64_t series_saved = 0, series_evicted = 0;
    for (const auto& p : (*j)["series"]) {
      series_saved += p["time_saved_ms"].get<uint64_t>();
      series_evicted += p["evicted_bytes"].get<uint64_t>();
    }
    EXPECT_EQ(series_saved, 7500u) << range;
    EXPECT_EQ(series_evicted, 3000u) << range;
  }
}

TEST(NamespaceResultTest, SplitsAtTheLastBar) {
  EXPECT_EQ(SplitNamespaceResult(NamespaceResult("artifacts/a", "hit")).first, "artifacts/a");
  EXPECT_EQ(SplitNamespaceResult(NamespaceResult("artifacts/a", "hit")).second, "hit");
  EXPECT_EQ(SplitNamespaceResult(NamespaceResult("npm", "")).second, "");
  EXPECT_EQ(SplitNamespaceResult("odd").first, "odd");
}

TEST_F(HistoryTest, HistorySurvivesARestartAndMinutesAddUp) {
  {
    auto history = Open();
    history->tally().Record(now_ms_ - 120'000, "bazel", "hit", Request(10));
    history->tally().Record(now_ms_, "bazel", "hit", Request(10));
    ASSERT_TRUE(history->Flush(/*all=*/false).ok());  // only the finished minute
    EXPECT_EQ(history->tally().Peek().size(), 1u);
    ASSERT_TRUE(history->Flush(/*all=*/true).ok());  // shutdown
    EXPECT_TRUE(history->tally().Peek().empty());
  }
  auto history = Open();
  history->tally().Record(now_ms_, "bazel", "hit", Request(10));  // same minute after the restart
  ASSERT_TRUE(history->Flush(true).ok());
  auto j = history->Query(*ParseRange("1h"));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["totals"]["requests"], 3);
  EXPECT_EQ((*j)["series"][59]["requests"], 2);
  EXPECT_EQ((*j)["series"][57]["requests"], 1);
}

TEST_F(HistoryTest, RangesBucketAndRetentionPrunes) {
  auto history = Open();
  history->tally().Record(now_ms_ - 3 * 3600'000, "gradle", "miss", Request(5));  // 3 h ago
  history->tally().Record(now_ms_ - 9LL * 24 * 3600'000, "gradle", "miss", Request(5));  // 9 days ago
  ASSERT_TRUE(history->Flush(true).ok());
  auto hour = history->Query(*ParseRange("1h"));
  auto day = history->Query(*ParseRange("24h"));
  auto week = history->Query(*ParseRange("7d"));
  ASSERT_TRUE(hour.ok() && day.ok() && week.ok());
  EXPECT_EQ((*hour)["totals"]["requests"], 0);
  EXPECT_EQ((*day)["totals"]["requests"], 1);
  EXPECT_EQ((*day)["bucket_seconds"], 3600);
  EXPECT_EQ((*day)["series"].size(), 24u);
  EXPECT_EQ((*week)["totals"]["requests"], 1);  // the 9-day-old minute was pruned
  EXPECT_EQ((*week)["series"].size(), 84u);
  EXPECT_FALSE(ParseRange("2h"));
  EXPECT_EQ(ParseRange("1w")->minutes, 7 * 24 * 60);
}

TEST(ResultClassTest, HitsAndMisses) {
  for (auto r : {"hit", "stale", "revalidated", "negative"}) EXPECT_TRUE(IsHit(r)) << r;
  for (auto r : {"miss", "fill", "uncached"}) EXPECT_TRUE(IsMiss(r)) << r;
  for (auto r : {"", "error", "refused", "discarded"}) EXPECT_FALSE(IsHit(r) || IsMiss(r)) << r;
}

}  // namespace
}  // namespace cellar::stats
