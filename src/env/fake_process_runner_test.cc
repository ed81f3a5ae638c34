#include "env/fake_process_runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "env/process_test_util.h"

#include <thread>

namespace cellar::env {
namespace {

using namespace std::chrono_literals;

SubprocessOptions Argv(std::vector<std::string> argv) {
  SubprocessOptions o;
  o.argv = std::move(argv);
  return o;
}

TEST(FakeProcessRunner, RunAnswersTheScriptAndLogsTheCall) {
  FakeProcessRunner runner;
  runner.Set({"git", "fetch"}, FakeProcessScript::Exit(1, "partial", "fatal: refused"));
  auto o = Argv({"git", "-C", "/m", "fetch", "--prune", "origin"});
  o.env = {"GIT_TERMINAL_PROMPT=0", "HOME=/h"};
  o.cwd = "/work";
  auto r = runner.Run(o, "stdin bytes", 5s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_EQ(r->out, "partial");
  EXPECT_EQ(r->err, "fatal: refused");
  EXPECT_FALSE(r->timed_out);
  auto call = runner.LastCall({"fetch"});
  ASSERT_TRUE(call);
  EXPECT_EQ(call->Command(), "git -C /m fetch --prune origin");
  EXPECT_EQ(call->Env("HOME"), "/h");
  EXPECT_EQ(call->Env("HOM"), std::nullopt);
  EXPECT_EQ(call->cwd, "/work");
  EXPECT_EQ(call->input, "stdin bytes");
  EXPECT_FALSE(call->spawned);
}

TEST(FakeProcessRunner, UnscriptedProgramsFailToStart) {
  FakeProcessRunner runner;
  runner.Set({"git", "fetch"}, FakeProcessScript::Exit(0));
  auto r = runner.Run(Argv({"git", "clone"}), "", 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kNotFound);
  EXPECT_FALSE(runner.Spawn(Argv({"make"})).ok());
  EXPECT_EQ(runner.calls().size(), 2u);  // failed starts are logged too
}

TEST(FakeProcessRunner, LongestPatternWinsThenTheLatest) {
  FakeProcessRunner runner;
  runner.Set({"git"}, FakeProcessScript::Exit(1));
  runner.Set({"git", "fetch"}, FakeProcessScript::Exit(2));
  runner.Set({"git", "fetch", "--prune"}, FakeProcessScript::Exit(3));
  EXPECT_EQ(runner.Run(Argv({"git", "init"}), "", 5s)->exit_code, 1);
  EXPECT_EQ(runner.Run(Argv({"git", "fetch"}), "", 5s)->exit_code, 2);
  EXPECT_EQ(runner.Run(Argv({"git", "fetch", "-q", "--prune"}), "", 5s)->exit_code, 3);
  // Words in a different order do not match.
  EXPECT_EQ(runner.Run(Argv({"git", "--prune", "fetch"}), "", 5s)->exit_code, 2);
  runner.Set({"git", "fetch"}, FakeProcessScript::Exit(7));
  EXPECT_EQ(runner.Run(Argv({"git", "fetch"}), "", 5s)->exit_code, 7);
  runner.Clear({"git", "fetch"});
  EXPECT_EQ(runner.Run(Argv({"git", "fetch"}), "", 5s)->exit_code, 1);
  EXPECT_EQ(runner.CallCount({"git", "fetch"}), 5u);
}

TEST(FakeProcessRunner, QueuedScriptsAnswerInTurnAndTheLastOneSticks) {
  FakeProcessRunner runner;
  runner.Queue({"git"}, FakeProcessScript::Exit(0));
  runner.Queue({"git"}, FakeProcessScript::Exit(128));
  EXPECT_EQ(runner.Run(Argv({"git"}), "", 5s)->exit_code, 0);
  EXPECT_EQ(runner.Run(Argv({"git"}), "", 5s)->exit_code, 128);
  EXPECT_EQ(runner.Run(Argv({"git"}), "", 5s)->exit_code, 128);
}

TEST(FakeProcessRunner, SpawnFailureIsReturned) {
  FakeProcessRunner runner;
  runner.Set({"git"}, FakeProcessScript::SpawnFailure(Status::ResourceExhausted("fork: EAGAIN")));
  auto p = runner.Spawn(Argv({"git", "upload-pack"}));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), Code::kResourceExhausted);
  EXPECT_EQ(runner.Run(Argv({"git"}), "", 5s).error().code(), Code::kResourceExhausted);
}

TEST(FakeProcessRunner, HandlerSeesOptionsAndInput) {
  FakeProcessRunner runner;
  runner.SetHandler({"cat"}, [](const SubprocessOptions& o, const std::string& input) {
    return FakeProcessScript::Exit(0, o.cwd + ":" + input);
  });
  auto o = Argv({"cat"});
  o.cwd = "/d";
  EXPECT_EQ(runner.Run(o, "x", 5s)->out, "/d:x");
}

TEST(FakeProcessRunner, RunTimesOutAHangingProgramAndTruncatesOutput) {
  FakeProcessRunner runner;
  runner.Set({"git"}, FakeProcessScript::Hang("0123456789"));
  auto start = std::chrono::steady_clock::now();
  auto r = runner.Run(Argv({"git"}), "", 50ms, /*max_output=*/4);
  ASSERT_TRUE(r.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 128 + SIGKILL);
  EXPECT_EQ(r->out, "0123");
  EXPECT_EQ(runner.LastCall({"git"})->signals, std::vector<int>{SIGKILL});

  auto slow = FakeProcessScript::Exit(0);
  slow.delay = 20ms;
  runner.Set({"git"}, slow);
  r = runner.Run(Argv({"git"}), "", 5s);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_code, 0);
}

TEST(FakeProcessRunner, RunMergesStderrWhenAsked) {
  FakeProcessRunner runner;
  runner.Set({"make"}, FakeProcessScript::Exit(2, "out\n", "err\n"));
  auto o = Argv({"make"});
  o.merge_stderr = true;
  auto r = runner.Run(o, "", 5s);
  EXPECT_EQ(r->out, "out\nerr\n");
  EXPECT_EQ(r->err, "");
}

TEST(FakeProcessRunner, SpawnedProcessTalksThroughRealPipes) {
  FakeProcessRunner runner;
  std::string big(300000, 'x');  // larger than a pipe buffer
  runner.Set({"git", "upload-pack"}, FakeProcessScript::Exit(0, big, "warning\n"));
  auto o = Argv({"git", "upload-pack", "/m"});
  o.pipe_stdin = o.pipe_stdout = o.pipe_stderr = true;
  auto p = runner.Spawn(o);
  ASSERT_TRUE(p.ok());
  EXPECT_GT((*p)->pid(), 0);
  std::string request(200000, 'r');
  std::thread writer([&] {
    int in = (*p)->ReleaseStdin();
    size_t done = 0;
    while (done < request.size()) {
      ssize_t w = ::write(in, request.data() + done, request.size() - done);
      if (w <= 0) break;
      done += static_cast<size_t>(w);
    }
    ::close(in);
  });
  EXPECT_TRUE(ReadToEndForTest((*p)->stdout_fd()) == big);
  EXPECT_EQ(ReadToEndForTest((*p)->stderr_fd()), "warning\n");
  writer.join();
  EXPECT_EQ((*p)->Wait(), 0);
  auto call = runner.LastCall({"upload-pack"});
  EXPECT_TRUE(call->spawned);
  EXPECT_EQ(call->input.size(), request.size());
  EXPECT_TRUE(call->input == request);
}

TEST(FakeProcessRunner, SpawnedProcessRunsForItsDelay) {
  FakeProcessRunner runner;
  auto s = FakeProcessScript::Exit(3, "done");
  s.delay = 50ms;
  runner.Set({"sleep"}, s);
  auto o = Argv({"sleep"});
  o.pipe_stdout = true;
  o.merge_stderr = true;
  auto start = std::chrono::steady_clock::now();
  auto p = runner.Spawn(o);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(ReadToEndForTest((*p)->stdout_fd()), "done");  // EOF only at exit
  EXPECT_EQ((*p)->Wait(), 3);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST(FakeProcessRunner, SignalEndsAHangingProcessUnlessIgnored) {
  FakeProcessRunner runner;
  runner.Set({"server"}, FakeProcessScript::Hang("up\n"));
  auto stubborn = FakeProcessScript::Hang();
  stubborn.ignore_signals = true;
  runner.Set({"stubborn"}, stubborn);

  auto p = runner.Spawn(Argv({"server"}));
  ASSERT_TRUE(p.ok());
  (*p)->Signal(SIGTERM);
  EXPECT_EQ((*p)->Wait(), 128 + SIGTERM);

  auto q = runner.Spawn(Argv({"stubborn"}));
  ASSERT_TRUE(q.ok());
  (*q)->Signal(SIGINT);
  std::this_thread::sleep_for(30ms);
  (*q)->Kill();
  EXPECT_EQ((*q)->Wait(), 128 + SIGKILL);
  EXPECT_EQ(runner.LastCall({"stubborn"})->signals, (std::vector<int>{SIGINT, SIGKILL}));
}

TEST(FakeProcessRunner, ClosingTheReadEndEndsTheWriterWithSigpipe) {
  FakeProcessRunner runner;
  runner.Set({"yes"}, FakeProcessScript::Exit(0, std::string(1 << 20, 'y')));
  auto o = Argv({"yes"});
  o.pipe_stdout = true;
  auto p = runner.Spawn(o);
  ASSERT_TRUE(p.ok());
  ::close((*p)->ReleaseStdout());
  EXPECT_EQ((*p)->Wait(), 128 + SIGPIPE);
}

TEST(FakeProcessRunner, DestroyingAHangingProcessKillsIt) {
  FakeProcessRunner runner;
  runner.Set({"x"}, FakeProcessScript::Hang());
  { auto p = runner.Spawn(Argv({"x"})); }
  EXPECT_EQ(runner.LastCall({"x"})->signals, std::vector<int>{SIGKILL});
}

}  // namespace
}  // namespace cellar::env
