#include "env/subprocess.h"

#include <gtest/gtest.h>

#include <signal.h>

namespace cellar::env {
namespace {

TEST(Subprocess, FeedsInputAndCollectsOutput) {
  SubprocessOptions o;
  o.argv = {"sh", "-c", "cat; echo oops >&2; exit 3"};
  o.env = CurrentEnvironment({}, {});
  auto r = RunSubprocess(o, "hello", std::chrono::seconds(10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "hello");
  EXPECT_EQ(r->err, "oops\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
}

TEST(Subprocess, EnvironmentIsExactlyWhatIsGiven) {
  SubprocessOptions o;
  o.argv = {"sh", "-c", "echo \"$SECRET_X|$HOME\""};
  o.env = {"PATH=/usr/bin:/bin", "SECRET_X=1"};
  auto r = RunSubprocess(o, "", std::chrono::seconds(10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "1|\n");
}

TEST(Subprocess, TimeoutKillsTheWholeGroup) {
  SubprocessOptions o;
  // The grandchild holds stdout open; only a group kill ends it.
  o.argv = {"sh", "-c", "sleep 30 & sleep 30"};
  o.env = CurrentEnvironment({}, {});
  auto start = std::chrono::steady_clock::now();
  auto r = RunSubprocess(o, "", std::chrono::milliseconds(300));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 128 + SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Subprocess, CurrentEnvironmentDropsPrefixes) {
  ::setenv("CELLAR_TEST_DROP_ME", "1", 1);
  auto env = CurrentEnvironment({"CELLAR_TEST_DROP"}, {"A=b"});
  for (const auto& e : env) EXPECT_FALSE(e.starts_with("CELLAR_TEST_DROP"));
  EXPECT_EQ(env.back(), "A=b");
}

TEST(Subprocess, MissingProgramIsAnError) {
  SubprocessOptions o;
  o.argv = {"/nonexistent/program"};
  EXPECT_FALSE(Subprocess::Spawn(o).ok());
}

}  // namespace
}  // namespace cellar::env
