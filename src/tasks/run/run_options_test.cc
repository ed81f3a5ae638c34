#include "tasks/run/run_options.h"

#include <gtest/gtest.h>

namespace cellar::tasks {
namespace {

TEST(RunOptionsTest, DefaultsUseBothCachesAndAllCores) {
  auto o = ParseRunArgs({"build"}, 8);
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->tasks, std::vector<std::string>{"build"});
  EXPECT_EQ(o->concurrency, 8u);
  EXPECT_TRUE(o->ReadsLocal());
  EXPECT_TRUE(o->ReadsRemote());
  EXPECT_TRUE(o->WritesRemote());
  EXPECT_EQ(o->output_logs, OutputLogs::kFull);
  EXPECT_EQ(o->dry, DryRun::kNo);
}

TEST(RunOptionsTest, EveryFlag) {
  auto o = ParseRunArgs({"build", "test", "--filter", "web", "-p", "apps/api", "--filter=lib-*", "--concurrency=3",
                         "--continue", "--summarize", "--output-logs", "new-only", "--graph=g.dot", "--cache-dir",
                         "/tmp/c", "--task-timeout=90s", "--dry=json"},
                        4);
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->tasks, (std::vector<std::string>{"build", "test"}));
  EXPECT_EQ(o->filters, (std::vector<std::string>{"web", "lib-*"}));
  EXPECT_EQ(o->package, "apps/api");
  EXPECT_EQ(o->concurrency, 3u);
  EXPECT_TRUE(o->keep_going);
  EXPECT_TRUE(o->summarize);
  EXPECT_EQ(o->output_logs, OutputLogs::kNewOnly);
  EXPECT_TRUE(o->graph);
  EXPECT_EQ(o->graph_file, "g.dot");
  EXPECT_EQ(o->cache_dir, "/tmp/c");
  EXPECT_EQ(o->task_timeout, std::chrono::seconds(90));
  EXPECT_EQ(o->dry, DryRun::kJson);
}

TEST(RunOptionsTest, ForceWritesButDoesNotRead) {
  auto o = ParseRunArgs({"build", "--force"}, 2);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->ReadsLocal());
  EXPECT_FALSE(o->ReadsRemote());
  EXPECT_TRUE(o->WritesLocal());
  EXPECT_TRUE(o->WritesRemote());
}

TEST(RunOptionsTest, NoCacheNeitherReadsNorWrites) {
  auto o = ParseRunArgs({"build", "--no-cache"}, 2);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->ReadsLocal() || o->ReadsRemote() || o->WritesLocal() || o->WritesRemote());
}

TEST(RunOptionsTest, CacheSelection) {
  auto local = ParseRunArgs({"build", "--cache=local"}, 2);
  ASSERT_TRUE(local.ok());
  EXPECT_TRUE(local->ReadsLocal());
  EXPECT_FALSE(local->ReadsRemote());
  EXPECT_FALSE(local->WritesRemote());
  auto remote = ParseRunArgs({"build", "--cache=remote"}, 2);
  ASSERT_TRUE(remote.ok());
  EXPECT_FALSE(remote->ReadsLocal());
  EXPECT_TRUE(remote->ReadsRemote());
  auto both = ParseRunArgs({"build", "--cache=remote,local"}, 2);
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->ReadsLocal() && both->ReadsRemote());
  EXPECT_FALSE(ParseRunArgs({"build", "--cache=s3"}, 2).ok());
}

TEST(RunOptionsTest, ConcurrencyPercentOfCores) {
  auto o = ParseRunArgs({"build", "--concurrency", "50%"}, 8);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->concurrency, 4u);
  auto tiny = ParseRunArgs({"build", "--concurrency=10%"}, 2);
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->concurrency, 1u);
  EXPECT_FALSE(ParseRunArgs({"build", "--concurrency=0"}, 2).ok());
  EXPECT_FALSE(ParseRunArgs({"build", "--concurrency=x"}, 2).ok());
}

TEST(RunOptionsTest, ErrorsNameTheProblem) {
  auto none = ParseRunArgs({"--force"}, 2);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("at least one task"), std::string::npos);
  auto unknown = ParseRunArgs({"build", "--bogus"}, 2);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("--bogus"), std::string::npos);
  auto missing = ParseRunArgs({"build", "--filter"}, 2);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("--filter needs a value"), std::string::npos);
  EXPECT_FALSE(ParseRunArgs({"build", "--output-logs=loud"}, 2).ok());
  EXPECT_FALSE(ParseRunArgs({"build", "-p", "a", "-p", "b"}, 2).ok());
}

}  // namespace
}  // namespace cellar::tasks
