// The dashboard's routes in-process: the page's files (public, with their
// security headers), the admin-only JSON, and which requests the history
// counts. The page itself is driven in a real browser by
// tests/integration/dashboard_test.sh.
#include "server/dashboard_routes.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocols/git/fake_git_for_test.h"
#include "server/history_observer.h"
#include "testing/adapter_fixture.h"

namespace cellar::server {
namespace {

using testing::kAdminToken;
using testing::kReaderToken;

std::string HeaderOf(const testing::TestResponse& r, std::string_view name) { return r.Header(name).value_or(""); }

class DashboardRoutesTest : public testing::AdapterFixture {
 protected:
  DashboardRoutesTest() {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("dashboard-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto db = stats::StatsDb::Open((dir_ / "stats.db").string());
    EXPECT_TRUE(db.ok());
    history_ = std::make_unique<stats::History>(std::move(*db), [] { return int64_t{1'796'378'430'000}; });
    RegisterDashboardRoutes(router_, ctx_, *history_);
  }
  ~DashboardRoutesTest() override { std::filesystem::remove_all(dir_); }
  testing::TestResponse Anonymous(const std::string& target) { return harness_.Get(target, {}); }

  std::filesystem::path dir_;
  std::unique_ptr<stats::History> history_;
};

TEST_F(DashboardRoutesTest, ThePagesFilesArePublicAndSelfContained) {
  auto page = Anonymous("/ui/");
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(HeaderOf(page, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(HeaderOf(page, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_NE(page.body.find("/ui/app.js"), std::string::npos);
  EXPECT_EQ(page.body.find("http"), std::string::npos) << "the page names no other origin";
  EXPECT_EQ(HeaderOf(Anonymous("/ui/app.js"), "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(HeaderOf(Anonymous("/ui/style.css"), "Content-Type"), "text/css; charset=utf-8");
  auto bare = Anonymous("/ui");
  EXPECT_EQ(bare.status, 308u);
  EXPECT_EQ(HeaderOf(bare, "Location"), "/ui/");
  EXPECT_EQ(Anonymous("/ui/../metrics").status, 404u);
  EXPECT_EQ(Anonymous("/ui/nothing.js").status, 404u);
  EXPECT_EQ(Post("/ui/", "x", kAdminToken).status, 405u);
}

TEST_F(DashboardRoutesTest, TheJsonNeedsTheAdminScope) {
  EXPECT_EQ(Anonymous("/api/v1/history").status, 401u);
  EXPECT_EQ(Get("/api/v1/history", kReaderToken).status, 403u);
  EXPECT_EQ(Anonymous("/api/v1/upstreams").status, 401u);
  auto ok = Get("/api/v1/history?range=24h", kAdminToken);
  ASSERT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(HeaderOf(ok, "Cache-Control"), "no-store");
  auto j = nlohmann::json::parse(ok.body);
  EXPECT_EQ(j["range"], "24h");
  EXPECT_EQ(j["series"].size(), 24u);
  EXPECT_TRUE(j["totals"]["hit_rate"].is_null());
  EXPECT_EQ(Get("/api/v1/history?range=2h", kAdminToken).status, 400u);
  EXPECT_EQ(Get("/api/v1/history/more", kAdminToken).status, 404u);
  EXPECT_EQ(Post("/api/v1/history", "", kAdminToken).status, 405u);
  auto ups = Get("/api/v1/upstreams", kAdminToken);
  ASSERT_EQ(ups.status, 200u);
  EXPECT_TRUE(nlohmann::json::parse(ups.body)["upstreams"].is_array());
}

TEST_F(DashboardRoutesTest, GitAndFleetPagesAnswerWithoutGitOrAFleet) {
  EXPECT_EQ(Anonymous("/api/v1/git").status, 401u);
  EXPECT_EQ(Get("/api/v1/fleet", kReaderToken).status, 403u);
  auto git = Get("/api/v1/git", kAdminToken);
  ASSERT_EQ(git.status, 200u) << git.body;
  auto g = nlohmann::json::parse(git.body);
  EXPECT_EQ(g["enabled"], false);
  EXPECT_TRUE(g["mirrors"].empty());
  EXPECT_TRUE(g["warmup"].is_null());
  auto fleet = Get("/api/v1/fleet", kAdminToken);
  ASSERT_EQ(fleet.status, 200u) << fleet.body;
  auto f = nlohmann::json::parse(fleet.body);
  EXPECT_EQ(f["tiers"]["local"]["kind"], "disk");
  EXPECT_EQ(f["tiers"]["local"]["entries"], 0);
  EXPECT_TRUE(f["tiers"]["shared"].is_null());
  EXPECT_TRUE(f["tiers"]["coordination"].is_null());
  EXPECT_TRUE(f["fleet"].is_null());
  EXPECT_EQ(Get("/api/v1/git/other", kAdminToken).status, 404u);
}

TEST(GitJsonTest, MirrorsAndTheLastWarmupRun) {
  env::FakeProcessRunner git;
  git::ScriptWorkingGitForTest(git);
  auto root = git::FreshTestDirForTest("dashboard-git");
  git::MirrorOptions options;
  options.root = root.string();
  options.max_bytes = 1 << 30;
  git::MirrorStore mirrors(options, git);
  ASSERT_TRUE(mirrors.Init().ok());
  git::WarmupConfig config;
  config.schedule = *git::CronSchedule::Parse("*/30 * * * *");
  config.repositories = {{"https://example.com/org/repo", {}, 3}};
  git::Warmer warmer(mirrors, {"example.com"}, config, nullptr);
  const int64_t now_ms = 1'767'225'600'000 + 60'000;  // 2026-01-01T00:01:00Z
  auto before = GitJson(&mirrors, &warmer, now_ms);
  EXPECT_TRUE(before["warmup"]["last_run"].is_null());
  EXPECT_EQ(before["warmup"]["next_run_ms"], 1'767'225'600'000 + 30 * 60'000);
  EXPECT_EQ(before["warmup"]["schedule"], "*/30 * * * *");
  ASSERT_TRUE(warmer.Run(config.repositories)[0].ok);
  mirrors.CountServed("example.com/org/repo");
  auto j = GitJson(&mirrors, &warmer, now_ms);
  EXPECT_EQ(j["enabled"], true);
  EXPECT_EQ(j["max_bytes"], 1 << 30);
  ASSERT_EQ(j["mirrors"].size(), 1u) << j.dump();
  EXPECT_EQ(j["mirrors"][0]["repo"], "example.com/org/repo");
  EXPECT_EQ(j["mirrors"][0]["clones_served"], 1);
  EXPECT_FALSE(j["mirrors"][0]["last_fetch_ms"].is_null());
  EXPECT_EQ(j["total_bytes"], j["mirrors"][0]["bytes"]);
  const auto& run = j["warmup"]["last_run"];
  EXPECT_EQ(run["on_demand"], true);
  ASSERT_EQ(run["results"].size(), 1u);
  EXPECT_EQ(run["results"][0]["ok"], true);
  EXPECT_TRUE(run["results"][0]["error"].is_null());
  EXPECT_EQ(j["warmup"]["repositories"][0]["priority"], 3);
  std::filesystem::remove_all(root);
}

TEST_F(DashboardRoutesTest, TheObserverCountsProtocolsNotTheServersOwnRoutes) {
  HistoryObserver observer(*history_);
  observer.Observe({"npm", "/npm/a", "hit", 200, 0, 1000, 0.002, "npm/tarball", 0});
  observer.Observe({"npm", "/npm/b", "fill", 502, 0, 20, 0.5, "npm/tarball", 0});
  observer.Observe({"npm", "/npm/c", "stale", 200, 0, 20, 0.5, "npm/tarball", 0});
  observer.Observe({"api", "/api/v1/stats", "", 200, 0, 300, 0.001, "", 0});
  observer.Observe({"ui", "/ui/", "", 200, 0, 3000, 0.001, "", 0});
  observer.Observe({"metrics", "/metrics", "", 200, 0, 3000, 0.001, "", 0});
  auto rows = history_->tally().Peek();
  uint64_t requests = 0, errors = 0;
  for (const auto& r : rows) {
    if (r.route == stats::kNamespaceRoute) {
      EXPECT_EQ(stats::SplitNamespaceResult(r.result).first, "npm/tarball");
      continue;
    }
    EXPECT_EQ(r.route, "npm");
    requests += r.counts.requests;
    errors += r.counts.errors;
  }
  EXPECT_EQ(requests, 3u);
  EXPECT_EQ(errors, 1u);
  auto ups = nlohmann::json::parse(history_->UpstreamsJson().dump());
  ASSERT_EQ(ups["stale_served"].size(), 1u) << ups.dump();
  EXPECT_EQ(ups["stale_served"][0]["protocol"], "npm");
  EXPECT_EQ(ups["stale_served"][0]["count"], 1);
  auto missed = history_->misses().Top(10);
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].key, "npm /npm/b");
}

}  // namespace
}  // namespace cellar::server
