#include "tasks/run/task_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "env/fake_process_runner.h"

namespace cellar::tasks {
namespace {

using namespace std::chrono_literals;

class TaskProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cellar-task-process-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  TaskProcessOptions Options(const std::string& command) {
    TaskProcessOptions o;
    o.command = command;
    o.cwd = dir_.string();
    o.env = {"PATH=/usr/bin:/bin", "TASK_VAR=x"};
    o.log_path = (dir_ / "task.log").string();
    o.on_line = [this](std::string_view line) { lines_.emplace_back(line); };
    return o;
  }
  std::string Log() {
    std::ifstream f(dir_ / "task.log");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  std::filesystem::path dir_;
  std::vector<std::string> lines_;
};

TEST_F(TaskProcessTest, RunsShellCommandInPackageDirWithMergedOutput) {
  env::FakeProcessRunner runner;
  runner.Set({"sh", "-c", "npm run build"}, env::FakeProcessScript::Exit(0, "built\nok\n", "warn\n"));
  auto r = RunTaskProcess(runner, Options("npm run build"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(Log(), "built\nok\nwarn\n");
  EXPECT_EQ(lines_, (std::vector<std::string>{"built", "ok", "warn"}));
  auto call = runner.LastCall({"sh", "-c", "npm run build"});
  ASSERT_TRUE(call);
  EXPECT_EQ(call->cwd, dir_.string());
  EXPECT_EQ(call->Env("TASK_VAR"), "x");
  // The runner's own directory never changes.
  EXPECT_NE(std::filesystem::current_path(), dir_);
}

TEST_F(TaskProcessTest, NonZeroExitIsAResultNotAnError) {
  env::FakeProcessRunner runner;
  runner.Set({"sh", "-c", "false"}, env::FakeProcessScript::Exit(3, "no newline at end"));
  auto r = RunTaskProcess(runner, Options("false"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(lines_, std::vector<std::string>{"no newline at end"});
}

TEST_F(TaskProcessTest, SpawnFailureIsAnError) {
  env::FakeProcessRunner runner;
  runner.Set({"sh"}, env::FakeProcessScript::SpawnFailure(Status::NotFound("no sh")));
  EXPECT_FALSE(RunTaskProcess(runner, Options("x")).ok());
}

TEST_F(TaskProcessTest, TimeoutStopsTheGroupPolitelyFirst) {
  env::FakeProcessRunner runner;
  runner.Set({"sh", "-c", "serve"}, env::FakeProcessScript::Hang("listening\n"));
  auto o = Options("serve");
  o.timeout = 100ms;
  auto r = RunTaskProcess(runner, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(Log(), "listening\n");
  auto call = runner.LastCall({"sh", "-c", "serve"});
  ASSERT_TRUE(call);
  ASSERT_FALSE(call->signals.empty());
  EXPECT_EQ(call->signals.front(), SIGTERM);
}

TEST_F(TaskProcessTest, ATaskIgnoringSigtermIsKilledAfterTheGrace) {
  env::FakeProcessRunner runner;
  auto script = env::FakeProcessScript::Hang();
  script.ignore_signals = true;
  runner.Set({"sh", "-c", "stubborn"}, script);
  auto o = Options("stubborn");
  o.timeout = 50ms;
  o.kill_grace = 100ms;
  auto r = RunTaskProcess(runner, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  auto call = runner.LastCall({"sh", "-c", "stubborn"});
  ASSERT_TRUE(call);
  EXPECT_EQ(call->signals, (std::vector<int>{SIGTERM, SIGKILL}));
}

TEST_F(TaskProcessTest, StopSignalForwardsTheSignalToTheGroup) {
  env::FakeProcessRunner runner;
  runner.Set({"sh", "-c", "long"}, env::FakeProcessScript::Hang());
  StopSignal stop;
  auto o = Options("long");
  o.stop = &stop;
  std::thread trigger([&] {
    std::this_thread::sleep_for(50ms);
    stop.Trigger(SIGINT);
  });
  auto r = RunTaskProcess(runner, o);
  trigger.join();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stopped);
  EXPECT_FALSE(r->ok());
  auto call = runner.LastCall({"sh", "-c", "long"});
  ASSERT_TRUE(call);
  ASSERT_FALSE(call->signals.empty());
  EXPECT_EQ(call->signals.front(), SIGINT);
}

// The real shell: stdout and stderr in write order, the working directory,
// and a timeout that takes down a background grandchild too.
TEST_F(TaskProcessTest, RealShellMergesStreamsAndUsesTheDirectory) {
  env::SystemProcessRunner runner;
  auto r = RunTaskProcess(runner, Options("echo one; echo two >&2; echo three; pwd"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(Log(), "one\ntwo\nthree\n" + std::filesystem::canonical(dir_).string() + "\n");
}

TEST_F(TaskProcessTest, RealTimeoutKillsTheWholeGroup) {
  env::SystemProcessRunner runner;
  auto o = Options("sleep 30 & echo $! > grandchild.pid; sleep 30");
  o.timeout = 200ms;
  o.kill_grace = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto r = RunTaskProcess(runner, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  std::ifstream f(dir_ / "grandchild.pid");
  pid_t grandchild = 0;
  f >> grandchild;
  ASSERT_GT(grandchild, 0);
  // A killed orphan may linger as a zombie until init reaps it.
  auto alive = [](pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field, comm, state;
    if (!(stat >> pid_field >> comm >> state)) return false;
    return state != "Z" && state != "X";
  };
  for (int i = 0; i < 50 && alive(grandchild); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(alive(grandchild));
}

}  // namespace
}  // namespace cellar::tasks
