#include "tasks/run/runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "env/fake_process_runner.h"

namespace cellar::tasks {
namespace {

using namespace std::chrono_literals;

// Records what the runner asked of the caches; hits are scripted per hash.
class FakeTaskCache : public TaskCache {
 public:
  void Prepare(const std::vector<RunTask>& tasks) override {
    std::lock_guard<std::mutex> lock(mu);
    prepared = tasks.size();
  }
  std::optional<Restored> Restore(const RunTask& task, std::string* warning) override {
    std::lock_guard<std::mutex> lock(mu);
    restores.push_back(task.id);
    if (broken.count(task.hash)) {
      *warning = "artifact refused: entry escapes the package";
      return std::nullopt;
    }
    auto it = hits.find(task.hash);
    if (it == hits.end()) return std::nullopt;
    return it->second;
  }
  Status Save(const RunTask& task, const std::string& log_path, std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> lock(mu);
    std::ifstream f(log_path);
    std::stringstream ss;
    ss << f.rdbuf();
    saved[task.id] = ss.str();
    return Status::Ok();
  }
  std::vector<std::string> Finish(bool was_interrupted) override {
    interrupted = was_interrupted;
    finished = true;
    return {};
  }

  std::mutex mu;
  size_t prepared = 0;
  std::map<std::string, Restored> hits;  // by hash
  std::set<std::string> broken;          // hashes whose restore fails
  std::vector<std::string> restores;
  std::map<std::string, std::string> saved;  // task id -> log
  bool finished = false;
  bool interrupted = false;
};

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cellar-runner-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // app -> lib-a, lib-b -> core
  std::vector<RunTask> Diamond() {
    auto t = [&](std::string id, std::vector<size_t> deps) {
      return RunTask{id, (dir_ / id.substr(0, id.find('#'))).string(), "build " + id, "h-" + id, {"dist"}, deps};
    };
    return {t("core#build", {}), t("lib-a#build", {0}), t("lib-b#build", {0}), t("app#build", {1, 2})};
  }
  std::vector<TaskRecord> Records(const std::vector<RunTask>& tasks) {
    std::vector<TaskRecord> r;
    for (const auto& t : tasks) r.push_back(TaskRecord{.id = t.id, .hash = t.hash});
    return r;
  }
  RunnerOptions Options() {
    return {.concurrency = 2, .log_dir = (dir_ / "logs").string(), .kill_grace = 200ms};
  }
  void ScriptAll(const std::vector<RunTask>& tasks) {
    for (const auto& t : tasks) {
      processes_.Set({"sh", "-c", t.command}, env::FakeProcessScript::Exit(0, "output of " + t.id + "\n"));
    }
  }
  Result<RunnerResult> Run(const std::vector<RunTask>& tasks, std::vector<TaskRecord>& records,
                           RunnerOptions options) {
    RunReporter reporter({.logs = OutputLogs::kFull, .total_tasks = tasks.size()},
                         [this](std::string_view s) {
                           std::lock_guard<std::mutex> lock(out_mu_);
                           out_ += s;
                         });
    Runner runner(processes_, cache_, reporter, stop_, options);
    return runner.Run(tasks, records);
  }

  std::filesystem::path dir_;
  env::FakeProcessRunner processes_;
  FakeTaskCache cache_;
  StopSignal stop_;
  std::mutex out_mu_;
  std::string out_;
};

TEST_F(RunnerTest, ColdDiamondRunsEachTaskOnceAndStoresItsLog) {
  auto tasks = Diamond();
  auto records = Records(tasks);
  ScriptAll(tasks);
  auto r = Run(tasks, records, Options());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(processes_.CallCount({"sh", "-c", "build core#build"}), 1u);
  EXPECT_EQ(processes_.calls().size(), 4u);
  EXPECT_EQ(cache_.prepared, 4u);
  EXPECT_EQ(cache_.saved["core#build"], "output of core#build\n");
  EXPECT_EQ(cache_.saved.size(), 4u);
  EXPECT_TRUE(cache_.finished);
  EXPECT_EQ(processes_.LastCall({"sh", "-c", "build lib-a#build"})->cwd, (dir_ / "lib-a").string());
  EXPECT_EQ(r->totals.succeeded, 4u);
  EXPECT_EQ(r->totals.cached, 0u);
  EXPECT_EQ(records[0].cache_status, "miss");
  EXPECT_NE(out_.find("core:build: cache miss, executing h-core#build\ncore:build: output of core#build\n"),
            std::string::npos)
      << out_;
  // Logs of finished tasks do not pile up.
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "logs"));
}

TEST_F(RunnerTest, HitsAreRestoredNotRunAndCountTheirSavedTime) {
  auto tasks = Diamond();
  auto records = Records(tasks);
  ScriptAll(tasks);
  cache_.hits["h-core#build"] = {CacheSource::kRemote, "core log\n", 1500ms};
  cache_.hits["h-lib-a#build"] = {CacheSource::kLocal, "lib-a log\n", 500ms};
  auto r = Run(tasks, records, Options());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(processes_.CallCount({"sh", "-c", "build core#build"}), 0u);
  EXPECT_EQ(processes_.CallCount({"sh", "-c", "build lib-a#build"}), 0u);
  EXPECT_EQ(processes_.calls().size(), 2u);
  EXPECT_EQ(r->totals.cached, 2u);
  EXPECT_EQ(r->totals.saved, 2000ms);
  EXPECT_EQ(records[0].cache_status, "hit");
  EXPECT_EQ(records[0].cache_source, "remote");
  EXPECT_NE(out_.find("core:build: cache hit (remote), replaying logs h-core#build\ncore:build: core log\n"),
            std::string::npos)
      << out_;
  EXPECT_EQ(cache_.saved.count("core#build"), 0u);
}

TEST_F(RunnerTest, ARestoreThatFailsIsAMissAndRuns) {
  auto tasks = Diamond();
  auto records = Records(tasks);
  ScriptAll(tasks);
  cache_.broken.insert("h-core#build");
  auto r = Run(tasks, records, Options());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(processes_.CallCount({"sh", "-c", "build core#build"}), 1u);
  EXPECT_EQ(records[0].cache_status, "miss");
  EXPECT_NE(out_.find("cellar: warning: core#build: artifact refused"), std::string::npos) << out_;
}

TEST_F(RunnerTest, AFailureSkipsDependentsAndIsNotCached) {
  auto tasks = Diamond();
  auto records = Records(tasks);
  ScriptAll(tasks);
  processes_.Set({"sh", "-c", "build lib-b#build"}, env::FakeProcessScript::Exit(2, "type error\n"));
  auto r = Run(tasks, records, Options());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_EQ(r->totals.failed, std::vector<std::string>{"lib-b#build"});
  EXPECT_EQ(processes_.CallCount({"sh", "-c", "build app#build"}), 0u);
  EXPECT_EQ(records[3].cache_status, "skipped");
  EXPECT_EQ(records[2].exit_code, 2);
  EXPECT_EQ(cache_.saved.count("lib-b#build"), 0u);
  EXPECT_NE(out_.find("lib-b:build: ERROR: exited with code 2"), std::string::npos) << out_;
}

TEST_F(RunnerTest, ForceBypassesReadsButStillWrites) {
  auto tasks = Diamond();
  auto records = Records(tasks);
  ScriptAll(tasks);
  cache_.hits["h-core#build"] = {CacheSource::kLocal, "core log\n", 1500ms};
  auto options = Options();
  options.read_cache = false;
  options.bypass_reason = "--force";
  auto r = Run(tasks, records, options);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(cache_.restores.empty());
  EXPECT_EQ(cache_.prepared, 0u);
  EXPECT_EQ(processes_.calls().size(), 4u);
  EXPECT_EQ(cache_.saved.size(), 4u);
  EXPECT_EQ(records[0].cache_status, "bypass");
  EXPECT_NE(out_.find("core:build: cache bypass (--force), executing h-core#build"), std::string::npos);
}

TEST_F(RunnerTest, NoCacheNeitherReadsNorWrites) {
  auto tasks = Diamond();
  auto records = Records(tasks);
  ScriptAll(tasks);
  auto options = Options();
  options.read_cache = false;
  options.write_cache = false;
  options.bypass_reason = "--no-cache";
  ASSERT_TRUE(Run(tasks, records, options).ok());
  EXPECT_TRUE(cache_.restores.empty());
  EXPECT_TRUE(cache_.saved.empty());
}

TEST_F(RunnerTest, StopInterruptsRunningTasksStoresNothingAndExits130) {
  auto tasks = Diamond();
  auto records = Records(tasks);
  ScriptAll(tasks);
  processes_.Set({"sh", "-c", "build core#build"}, env::FakeProcessScript::Hang("working\n"));
  std::thread trigger([&] {
    std::this_thread::sleep_for(100ms);
    stop_.Trigger(SIGINT);
  });
  auto r = Run(tasks, records, Options());
  trigger.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 130);
  EXPECT_TRUE(cache_.saved.empty());
  EXPECT_TRUE(cache_.interrupted);
  EXPECT_EQ(processes_.LastCall({"sh", "-c", "build core#build"})->signals.front(), SIGINT);
  EXPECT_EQ(processes_.CallCount({"sh", "-c", "build app#build"}), 0u);
}

TEST_F(RunnerTest, UncacheableTaskAlwaysRunsAndIsNeverStored) {
  auto tasks = Diamond();
  tasks[0].cacheable = false;
  auto records = Records(tasks);
  ScriptAll(tasks);
  cache_.hits["h-core#build"] = {CacheSource::kLocal, "core log\n", 1500ms};
  ASSERT_TRUE(Run(tasks, records, Options()).ok());
  EXPECT_EQ(processes_.CallCount({"sh", "-c", "build core#build"}), 1u);
  EXPECT_EQ(cache_.saved.count("core#build"), 0u);
  EXPECT_EQ(cache_.saved.count("app#build"), 1u);
  EXPECT_NE(out_.find("core:build: cache bypass (cache: false), executing"), std::string::npos) << out_;
}

TEST_F(RunnerTest, PerTaskTimeoutFailsTheTask) {
  auto tasks = Diamond();
  tasks[0].timeout = 50ms;
  auto records = Records(tasks);
  ScriptAll(tasks);
  processes_.Set({"sh", "-c", "build core#build"}, env::FakeProcessScript::Hang());
  auto r = Run(tasks, records, Options());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_NE(out_.find("core:build: ERROR: timed out after 0.050s"), std::string::npos) << out_;
  EXPECT_TRUE(cache_.saved.empty());
}

TEST_F(RunnerTest, CycleIsRefusedBeforeAnythingRuns) {
  auto tasks = Diamond();
  tasks[0].deps = {3};
  auto records = Records(tasks);
  auto r = Run(tasks, records, Options());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("cycle"), std::string::npos);
  EXPECT_TRUE(processes_.calls().empty());
}

}  // namespace
}  // namespace cellar::tasks
