// MirrorStore and Warmer against a scripted git (FakeProcessRunner): what
// happens when the upstream refuses, fails or hangs, without a real git or
// network.
#include "protocols/git/mirror_store.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "env/clock.h"
#include "env/fake_process_runner.h"
#include "protocols/git/fake_git_for_test.h"
#include "index/document_versions.h"
#include "protocols/git/warmup.h"
#include "redis/leases.h"
#include "trace/collecting_exporter.h"
#include "trace/current_span.h"

namespace cellar::git {
namespace {

namespace fs = std::filesystem;
using env::FakeProcessScript;
using namespace std::chrono_literals;

constexpr const char* kUrl = "https://example.com/org/repo";
constexpr const char* kKey = "example.com/org/repo";

class MirrorStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = FreshTestDirForTest("cellar-mirror-test");
    ScriptWorkingGitForTest(git_);
    options_.root = root_.string();
    options_.on_upstream_run = [this](bool ok, double, uint64_t) { runs_.push_back(ok); };
  }
  void TearDown() override { fs::remove_all(root_); }

  MirrorStore& Store() {
    if (!store_) {
      store_ = std::make_unique<MirrorStore>(options_, git_);
      EXPECT_TRUE(store_->Init().ok());
    }
    return *store_;
  }
  bool TmpIsEmpty() const { return fs::is_empty(root_ / "tmp"); }

  fs::path root_;
  env::FakeProcessRunner git_;
  MirrorOptions options_;
  std::vector<bool> runs_;
  std::unique_ptr<MirrorStore> store_;
};

TEST_F(MirrorStoreTest, CloneBuildsTheMirrorInTmpAndMovesItIntoPlace) {
  ASSERT_TRUE(Store().Update(kKey, kUrl, "").ok());
  EXPECT_TRUE(Store().Exists(kKey));
  EXPECT_TRUE(TmpIsEmpty());
  EXPECT_TRUE(Store().FetchedWithin(kKey, 60'000));
  auto fetch = git_.LastCall({"git", "fetch"});
  ASSERT_TRUE(fetch);
  EXPECT_NE(fetch->Command().find("--atomic"), std::string::npos);
  EXPECT_EQ(fetch->Env("GIT_TERMINAL_PROMPT"), "0");
  EXPECT_EQ(fetch->Env("GIT_CONFIG_GLOBAL"), "/dev/null");
  EXPECT_EQ(git_.LastCall({"symbolic-ref"})->argv.back(), "refs/heads/main");
  EXPECT_EQ(runs_, std::vector<bool>{true});
}

TEST_F(MirrorStoreTest, UpstreamAuthRefusalLeavesNoMirror) {
  git_.Set({"git", "fetch"},
           FakeProcessScript::Exit(128, "", "fatal: Authentication failed for 'https://example.com/org/repo/'\n"
                                            "remote: more detail\n"));
  Status s = Store().Update(kKey, kUrl, "Basic d3Jvbmc=");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kUnavailable);
  // The first line of git's complaint, not the rest.
  EXPECT_EQ(s.message(), "upstream fetch failed: fatal: Authentication failed for 'https://example.com/org/repo/'");
  EXPECT_FALSE(Store().Exists(kKey));
  EXPECT_TRUE(TmpIsEmpty());  // the half-built mirror is gone
  EXPECT_EQ(runs_, std::vector<bool>{false});
  EXPECT_EQ(git_.CallCount({"ls-remote"}), 0u);
}

TEST_F(MirrorStoreTest, CredentialsReachGitOnlyThroughItsEnvironment) {
  ASSERT_TRUE(Store().Update(kKey, kUrl, "Basic c2VjcmV0").ok());
  for (const auto& call : git_.calls()) {
    EXPECT_EQ(call.Command().find("c2VjcmV0"), std::string::npos) << call.Command();
  }
  EXPECT_EQ(git_.LastCall({"fetch"})->Env("GIT_CONFIG_VALUE_0"), "Authorization: Basic c2VjcmV0");
  EXPECT_EQ(git_.LastCall({"ls-remote"})->Env("GIT_CONFIG_VALUE_0"), "Authorization: Basic c2VjcmV0");
  // Local commands get no credential at all.
  EXPECT_EQ(git_.LastCall({"init"})->Env("GIT_CONFIG_VALUE_0"), std::nullopt);
  EXPECT_EQ(git_.LastCall({"repack"})->Env("GIT_CONFIG_VALUE_0"), std::nullopt);
}

TEST_F(MirrorStoreTest, HangingFetchTimesOutAndIsKilled) {
  options_.fetch_timeout = 50ms;
  git_.Set({"git", "fetch"}, FakeProcessScript::Hang());
  Status s = Store().Update(kKey, kUrl, "");
  EXPECT_EQ(s.code(), Code::kDeadlineExceeded) << s.ToString();
  EXPECT_EQ(git_.LastCall({"fetch"})->signals, std::vector<int>{SIGKILL});
  EXPECT_FALSE(Store().Exists(kKey));
  EXPECT_TRUE(TmpIsEmpty());
}

TEST_F(MirrorStoreTest, FailedFetchKeepsTheExistingMirror) {
  ASSERT_TRUE(Store().Update(kKey, kUrl, "").ok());
  fs::path marker = fs::path(Store().PathFor(kKey)) / "cellar-fetched";
  fs::last_write_time(marker, fs::last_write_time(marker) - 1h);
  git_.Set({"git", "fetch"}, FakeProcessScript::Exit(128, "", "fatal: unable to access: Connection refused\n"));
  Status s = Store().Update(kKey, kUrl, "");
  EXPECT_EQ(s.message(), "upstream fetch failed: fatal: unable to access: Connection refused");
  EXPECT_TRUE(Store().Exists(kKey));  // still there to be served stale
  EXPECT_FALSE(Store().FetchedWithin(kKey, 60'000));  // and not marked fresh
  EXPECT_EQ(runs_, (std::vector<bool>{true, false}));
}

TEST_F(MirrorStoreTest, MissingGitIsReportedByInit) {
  git_.Set({"git", "init"}, FakeProcessScript::SpawnFailure(Status::NotFound("spawn git: No such file")));
  MirrorStore store(options_, git_);
  Status s = store.Init();
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("is git installed?"), std::string::npos);
}

TEST_F(MirrorStoreTest, MissingReadsCatFileAnswers) {
  ASSERT_TRUE(Store().Update(kKey, kUrl, "").ok());
  git_.SetHandler({"git", "cat-file", "--batch-check"}, [](const env::SubprocessOptions&, const std::string& in) {
    std::string out;
    for (size_t pos = 0, nl; (nl = in.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      std::string oid = in.substr(pos, nl - pos);
      out += oid + (oid.starts_with("aa") ? " commit 200\n" : " missing\n");
    }
    return FakeProcessScript::Exit(0, out);
  });
  std::string a(40, 'a'), b(40, 'b');
  auto missing = Store().Missing(kKey, {a, b});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, std::vector<std::string>{b});
  git_.Set({"git", "cat-file", "--batch-check"}, FakeProcessScript::Exit(128, "", "fatal: not a git repository\n"));
  auto failed = Store().Missing(kKey, {a});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), Code::kInternal);
  // Without a mirror everything is missing, and git is not asked.
  size_t asked = git_.CallCount({"cat-file"});
  EXPECT_EQ(*Store().Missing("example.com/org/other", {a}), std::vector<std::string>{a});
  EXPECT_EQ(git_.CallCount({"cat-file"}), asked);
}

TEST_F(MirrorStoreTest, ConcurrentUpdatesShareOneFetch) {
  auto slow = FakeProcessScript::Exit(0);
  slow.delay = 150ms;
  git_.Set({"git", "fetch"}, slow);
  MirrorStore& store = Store();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] { ok += store.Update(kKey, kUrl, "").ok(); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(git_.CallCount({"git", "fetch"}), 1u);
}

TEST_F(MirrorStoreTest, WarmupReportsUpstreamErrorsAndMissingBranches) {
  std::vector<bool> reported;
  WarmupConfig config;
  config.authorization = "Bearer warm";
  Warmer warmer(Store(), {"example.com"}, config, [&](const WarmupResult& r) { reported.push_back(r.ok); });

  git_.Set({"git", "fetch"}, FakeProcessScript::Exit(128, "", "fatal: repository 'x' not found\n"));
  auto results = warmer.Run({{std::string(kUrl) + ".git", {"main"}, 0}});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].ok);
  EXPECT_EQ(results[0].error, "upstream fetch failed: fatal: repository 'x' not found");
  EXPECT_EQ(git_.LastCall({"fetch"})->Env("GIT_CONFIG_VALUE_0"), "Authorization: Bearer warm");

  git_.Set({"git", "fetch"}, FakeProcessScript::Exit(0));
  git_.SetHandler({"git", "rev-parse"}, [](const env::SubprocessOptions& o, const std::string&) {
    return FakeProcessScript::Exit(o.argv.back() == "refs/heads/main" ? 0 : 1);
  });
  results = warmer.Run({{kUrl, {"main", "release"}, 0}, {"https://elsewhere.org/a/b", {}, 5}});
  ASSERT_EQ(results.size(), 2u);
  // Highest priority first: the host that is not allowed.
  EXPECT_FALSE(results[0].ok);
  EXPECT_EQ(git_.CallCount({"elsewhere.org"}), 0u);
  EXPECT_FALSE(results[1].ok);
  EXPECT_EQ(results[1].error, "branch 'release' not found upstream");
  EXPECT_EQ(reported, (std::vector<bool>{false, false, false}));

  results = warmer.Run({{kUrl, {"main"}, 0}});
  EXPECT_TRUE(results[0].ok) << results[0].error;
}

// Three mirrors: "old" (small, built 8 days ago), "popular" (10 kB, served
// ten times, last a day ago) and "big" (10 kB, built last, served once).
// Returns which of them are left after the limit is enforced.
std::vector<std::string> MirrorsLeftAfterEviction(MirrorOptions options, env::FakeProcessRunner& git,
                                                  MirrorEvictionPolicy policy) {
  env::FakeClock clock;
  options.clock = &clock;
  options.eviction_policy = policy;
  options.max_age_ms = 7LL * 24 * 3600 * 1000;
  options.max_bytes = 20'000;  // evicts down to 18,000
  MirrorStore store(options, git);
  EXPECT_TRUE(store.Init().ok());
  auto make = [&](const std::string& name, size_t bytes) {
    const std::string key = "example.com/org/" + name;
    EXPECT_TRUE(store.Update(key, "https://" + key, "").ok());
    std::ofstream(store.PathFor(key) + "/objects/pack/pack-x.pack") << std::string(bytes, 'x');
    EXPECT_TRUE(store.Update(key, "https://" + key, "").ok());  // measures it
  };
  make("old", 1'000);
  clock.Advance(std::chrono::hours(24 * 7));
  make("popular", 10'000);
  for (int i = 0; i < 10; ++i) {
    store.BeginUse("example.com/org/popular");
    store.EndUse("example.com/org/popular");
  }
  clock.Advance(std::chrono::hours(24));
  make("big", 10'000);  // 21 kB in all: past the limit
  std::vector<std::string> left;
  for (const char* name : {"old", "popular", "big"}) {
    if (store.Exists(std::string("example.com/org/") + name)) left.push_back(name);
  }
  return left;
}

TEST_F(MirrorStoreTest, LeastRecentlyUsedEvictionKeepsTheMirrorsUsedLast) {
  EXPECT_EQ(MirrorsLeftAfterEviction(options_, git_, MirrorEvictionPolicy::kLeastRecentlyUsed),
            (std::vector<std::string>{"big"}));
}

TEST_F(MirrorStoreTest, SizeAndAgeEvictionTakesOldMirrorsThenTheMostBytesPerUse) {
  EXPECT_EQ(MirrorsLeftAfterEviction(options_, git_, MirrorEvictionPolicy::kSizeAndAge),
            (std::vector<std::string>{"popular"}));
}

TEST_F(MirrorStoreTest, RefsAnotherNodeFetchedLaterSupersedeAMirrorsOwn) {
  // Two nodes' stores on one set of announced versions; the upstream's refs
  // are whatever `refs` says when a store lists them.
  index::MemDocumentVersions versions;
  std::string refs = "1111 refs/heads/main\n";
  git_.SetHandler({"git", "for-each-ref"},
                  [&refs](const env::SubprocessOptions&, const std::string&) { return FakeProcessScript::Exit(0, refs); });
  options_.ref_versions = &versions;
  MirrorOptions other_options = options_;
  other_options.root = (root_ / "other").string();
  MirrorStore other(other_options, git_);
  ASSERT_TRUE(other.Init().ok());
  ASSERT_TRUE(Store().Update(kKey, kUrl, "").ok());
  ASSERT_TRUE(other.Update(kKey, kUrl, "").ok());
  EXPECT_FALSE(Store().RefsSupersededElsewhere(kKey)) << "the other node fetched later, but the same refs";
  EXPECT_FALSE(other.RefsSupersededElsewhere(kKey));

  std::this_thread::sleep_for(20ms);  // the announcement must be later than other's mirror
  refs = "2222 refs/heads/main\n";
  ASSERT_TRUE(Store().Update(kKey, kUrl, "").ok());
  EXPECT_TRUE(other.RefsSupersededElsewhere(kKey));
  EXPECT_FALSE(Store().RefsSupersededElsewhere(kKey)) << "its own announcement";
  ASSERT_TRUE(other.Update(kKey, kUrl, "").ok());
  EXPECT_FALSE(other.RefsSupersededElsewhere(kKey)) << "fetched: now it holds the same refs";
  EXPECT_FALSE(other.RefsSupersededElsewhere("example.com/org/never-fetched"));
}

TEST_F(MirrorStoreTest, FleetNodesSplitTheirWarmupRunsButWarmOnDemand) {
  // Two nodes: this fixture's store and a second one beside it, with one
  // set of fleet leases between them.
  env::FakeClock clock;
  redis::FakeLeases leases(clock);
  MirrorOptions other_options = options_;
  other_options.root = (root_ / "other").string();
  MirrorStore other(other_options, git_);
  ASSERT_TRUE(other.Init().ok());
  std::vector<WarmupResult> reported;
  auto report = [&](const WarmupResult& r) { reported.push_back(r); };
  Warmer a(Store(), {"example.com"}, {}, report, &leases);
  Warmer b(other, {"example.com"}, {}, report, &leases);
  const std::vector<WarmupRepository> list = {{kUrl, {}, 0}, {"https://example.com/org/second", {}, 0}};

  auto first = a.RunShared({list[0]}, 60s);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(first[0].ok && !first[0].skipped);
  auto second = b.RunShared(list, 60s);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_TRUE(second[0].ok && second[0].skipped) << "claimed by node a";
  EXPECT_FALSE(second[1].skipped);
  EXPECT_FALSE(other.Exists(kKey));
  EXPECT_TRUE(other.Exists("example.com/org/second"));
  EXPECT_EQ(WarmupReportJson(second).find("\"skipped\":true") != std::string::npos, true);
  ASSERT_EQ(reported.size(), 3u);
  EXPECT_TRUE(reported[1].skipped);

  // On demand, the operator asked this node: it warms whatever was claimed.
  auto on_demand = b.Run({list[0]});
  EXPECT_TRUE(on_demand[0].ok && !on_demand[0].skipped);
  EXPECT_TRUE(other.Exists(kKey));

  // The claim expires before the next run; with Redis down every node warms.
  clock.Advance(61s);
  EXPECT_FALSE(b.RunShared({list[0]}, 60s)[0].skipped);
  leases.SetUnavailable(true);
  EXPECT_FALSE(a.RunShared({list[0]}, 60s)[0].skipped);
}

TEST_F(MirrorStoreTest, WarmupClaimsLastUntilShortlyBeforeTheNextScheduledRun) {
  WarmupConfig config;
  config.schedule = *CronSchedule::Parse("*/30 * * * *");
  Warmer scheduled(Store(), {}, config, nullptr);
  const int64_t midnight = 1'767'225'600;  // 2026-01-01T00:00:00Z
  // Period 30 min, margin 5% of it (90 s).
  EXPECT_EQ(scheduled.ClaimTtl(midnight), std::chrono::milliseconds((1800 - 90) * 1000));
  EXPECT_EQ(scheduled.ClaimTtl(midnight + 1700), std::chrono::milliseconds((100 - 90) * 1000));
  EXPECT_EQ(scheduled.ClaimTtl(midnight + 1750), std::chrono::milliseconds(1000));
  Warmer unscheduled(Store(), {}, {}, nullptr);
  EXPECT_EQ(unscheduled.ClaimTtl(midnight), std::chrono::minutes(10));
}

TEST_F(MirrorStoreTest, SnapshotAndLastWarmupRunForTheDashboard) {
  EXPECT_TRUE(Store().Snapshot().empty());
  WarmupConfig config;
  config.schedule = *CronSchedule::Parse("0 * * * *");
  Warmer warmer(Store(), {"example.com"}, config, nullptr);
  EXPECT_FALSE(warmer.LastRun());
  const int64_t midnight = 1'767'225'600;  // 2026-01-01T00:00:00Z
  EXPECT_EQ(warmer.NextScheduledRun(midnight + 10), midnight + 3600);
  auto results = warmer.RunShared({{kUrl, {}, 0}}, 60s);
  ASSERT_EQ(results.size(), 1u);
  ASSERT_TRUE(results[0].ok) << results[0].error;
  auto run = warmer.LastRun();
  ASSERT_TRUE(run);
  EXPECT_FALSE(run->on_demand);
  ASSERT_EQ(run->results.size(), 1u);
  EXPECT_EQ(run->results[0].url, kUrl);
  EXPECT_LE(run->started_ms, run->finished_ms);
  EXPECT_TRUE(warmer.Run({{kUrl, {}, 0}})[0].ok);
  EXPECT_TRUE(warmer.LastRun()->on_demand);

  Store().CountServed(kKey);
  auto mirrors = Store().Snapshot();
  ASSERT_EQ(mirrors.size(), 1u);
  EXPECT_EQ(mirrors[0].repo, kKey);
  EXPECT_GT(mirrors[0].bytes, 0u);
  EXPECT_EQ(mirrors[0].clones_served, 1u);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(static_cast<double>(mirrors[0].last_fetch_ms), static_cast<double>(now_ms), 120'000.0);
}

TEST_F(MirrorStoreTest, InATracedRequestEachGitRunIsASpan) {
  std::vector<trace::SpanData> exported;
  metrics::Registry registry;
  trace::Tracer tracer(trace::TracerOptions{}, std::make_unique<trace::CollectingExporter>(exported), registry);
  const trace::TraceContext request = tracer.StartServerSpan(std::nullopt);
  {
    trace::CurrentScope scope(&tracer, &request);
    ASSERT_TRUE(Store().Update(kKey, kUrl, "").ok());
    git_.Set({"git", "fetch"}, FakeProcessScript::Exit(128, "", "fatal: unreachable\n"));
    EXPECT_FALSE(Store().Update(kKey, kUrl, "").ok());
  }
  tracer.Flush();
  std::vector<std::string> names;
  bool failed_fetch = false;
  for (const auto& span : exported) {
    names.push_back(span.name);
    EXPECT_EQ(span.context.trace_id, request.trace_id);
    EXPECT_EQ(span.parent, request.span_id);
    if (span.name == "git fetch" && span.error) failed_fetch = true;
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "git init"), names.end()) << ::testing::PrintToString(names);
  EXPECT_GE(std::count(names.begin(), names.end(), "git fetch"), 2);
  EXPECT_TRUE(failed_fetch);
}

}  // namespace
}  // namespace cellar::git
