#include "env/process_runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "env/process_test_util.h"

namespace cellar::env {
namespace {

SubprocessOptions Shell(const std::string& script) {
  SubprocessOptions o;
  o.argv = {"sh", "-c", script};
  o.env = CurrentEnvironment({}, {});
  return o;
}

TEST(SystemProcessRunner, RunCollectsOutputAndExitCode) {
  SystemProcessRunner runner;
  auto r = runner.Run(Shell("cat; echo oops >&2; exit 4"), "in", std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->out, "in");
  EXPECT_EQ(r->err, "oops\n");
  EXPECT_EQ(r->exit_code, 4);
}

TEST(SystemProcessRunner, MergeStderrInterleavesBothStreamsInStdout) {
  SystemProcessRunner runner;
  auto o = Shell("echo one; echo two >&2; echo three");
  o.merge_stderr = true;
  auto r = runner.Run(o, "", std::chrono::seconds(10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "one\ntwo\nthree\n");
  EXPECT_EQ(r->err, "");
}

TEST(SystemProcessRunner, MergeStderrNeedsAStdoutPipe) {
  SystemProcessRunner runner;
  auto o = Shell("true");
  o.merge_stderr = true;
  EXPECT_FALSE(runner.Spawn(o).ok());
}

TEST(SystemProcessRunner, SpawnedProcessMergesStreamsIntoItsStdoutPipe) {
  SystemProcessRunner runner;
  auto o = Shell("echo out; echo err >&2");
  o.pipe_stdout = true;
  o.pipe_stderr = true;
  o.merge_stderr = true;
  auto p = runner.Spawn(o);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->stderr_fd(), -1);
  EXPECT_EQ(ReadToEndForTest((*p)->stdout_fd()), "out\nerr\n");
  EXPECT_EQ((*p)->Wait(), 0);
}

TEST(SystemProcessRunner, SignalReachesTheWholeGroup) {
  SystemProcessRunner runner;
  // The grandchild holds stdout open; only a signal to the group closes it.
  auto o = Shell("sleep 30 & echo started; wait");
  o.pipe_stdout = true;
  auto p = runner.Spawn(o);
  ASSERT_TRUE(p.ok());
  char buf[8];
  ASSERT_GT(::read((*p)->stdout_fd(), buf, sizeof buf), 0);
  (*p)->Signal(SIGTERM);
  EXPECT_EQ(ReadToEndForTest((*p)->stdout_fd()), "");  // EOF: the sleeping grandchild died too
  EXPECT_EQ((*p)->Wait(), 128 + SIGTERM);
}

TEST(SystemProcessRunner, DestroyingARunningProcessKillsIt) {
  SystemProcessRunner runner;
  auto o = Shell("sleep 30");
  auto start = std::chrono::steady_clock::now();
  {
    auto p = runner.Spawn(o);
    ASSERT_TRUE(p.ok());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace cellar::env
