#include "gitclient/local_clone.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "env/fake_process_runner.h"

namespace cellar::gitclient {
namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

TEST(LocalClone, ArgumentsAndDefaults) {
  auto o = ParseCloneArgs({"https://github.com/org/repo.git", "--branch", "dev", "--depth=5"},
                          Env{{"HOME", "/home/ci"}, {"CELLAR_SERVER", "http://cellar:8080/"}});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->directory, "repo");
  EXPECT_EQ(o->branch, "dev");
  EXPECT_EQ(o->depth, 5);
  EXPECT_EQ(o->server, "http://cellar:8080");
  EXPECT_EQ(o->cache_dir, "/home/ci/.cache/cellar/git");
  auto x = ParseCloneArgs({"https://h/r", "dir", "--server", "http://s", "--cache-dir", "/c"},
                          Env{{"XDG_CACHE_HOME", "/x"}});
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->directory, "dir");
  EXPECT_EQ(x->cache_dir, "/c");
  auto xdg = ParseCloneArgs({"https://h/r"}, Env{{"XDG_CACHE_HOME", "/x"}, {"HOME", "/h"}});
  EXPECT_EQ(xdg->cache_dir, "/x/cellar/git");
  EXPECT_TRUE(xdg->server.empty());
}

TEST(LocalClone, BadArguments) {
  Env env{{"HOME", "/h"}};
  EXPECT_FALSE(ParseCloneArgs({}, env).ok());
  EXPECT_FALSE(ParseCloneArgs({"https://h/r", "--depth", "0"}, env).ok());
  EXPECT_FALSE(ParseCloneArgs({"https://h/r", "--bogus"}, env).ok());
  EXPECT_FALSE(ParseCloneArgs({"git@github.com:org/repo.git"}, env).ok());
  EXPECT_FALSE(ParseCloneArgs({"https://h/r", "--server", "cellar:8080"}, env).ok());
}

TEST(LocalClone, MirrorPathsStayInsideTheCache) {
  EXPECT_EQ(*LocalMirrorPath("/c", "https://GitHub.com/org/repo.git/"), "/c/github.com/org/repo.git");
  EXPECT_EQ(*LocalMirrorPath("/c", "http://user@127.0.0.1:8080/a/b"), "/c/127.0.0.1:8080/a/b.git");
  EXPECT_FALSE(LocalMirrorPath("/c", "https://h/../etc").ok());
  EXPECT_FALSE(LocalMirrorPath("/c", "https://h/a//b").ok());
  EXPECT_FALSE(LocalMirrorPath("/c", "https://h/a/%2e%2e").ok());
  EXPECT_FALSE(LocalMirrorPath("/c", "https://h").ok());
}

TEST(LocalClone, UpdatesComeFromTheServerWhenThereIsOne) {
  CloneOptions o;
  o.url = "https://github.com/org/repo";
  EXPECT_EQ(*UpdateUrl(o), "https://github.com/org/repo");
  o.server = "http://cellar:8080";
  EXPECT_EQ(*UpdateUrl(o), "http://cellar:8080/git/github.com/org/repo.git");
}

// RunClone against a scripted git: which commands run, in which order, and
// what a failure leaves behind.
class RunCloneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cellar-local-clone-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    options_.url = "https://github.com/org/repo.git";
    options_.directory = (dir_ / "work").string();
    options_.server = "http://cellar:8080";
    options_.cache_dir = (dir_ / "cache").string();
    // `git clone --mirror ... <dir>` makes <dir> a repository.
    git_.SetHandler({"git", "clone", "--mirror"}, [](const env::SubprocessOptions& o, const std::string&) {
      std::filesystem::create_directories(o.argv.back());
      std::ofstream(o.argv.back() + "/HEAD") << "ref: refs/heads/main\n";
      return env::FakeProcessScript::Exit(0);
    });
    git_.Set({"git", "clone"}, env::FakeProcessScript::Exit(0));
    git_.Set({"git", "fetch"}, env::FakeProcessScript::Exit(0));
    git_.Set({"git", "remote", "set-url"}, env::FakeProcessScript::Exit(0));
    out_ = std::tmpfile();
  }
  void TearDown() override {
    std::fclose(out_);
    std::filesystem::remove_all(dir_);
  }
  std::string Mirror() const { return options_.cache_dir + "/github.com/org/repo.git"; }

  std::filesystem::path dir_;
  CloneOptions options_;
  env::FakeProcessRunner git_;
  std::FILE* out_ = nullptr;
};

TEST_F(RunCloneTest, ColdCloneMirrorsFromTheServerThenChecksOutWithTheRealOrigin) {
  auto report = RunClone(options_, out_, git_);
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->tier, "server");
  auto calls = git_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].argv[1], "clone");
  EXPECT_EQ(calls[0].argv[calls[0].argv.size() - 2], "http://cellar:8080/git/github.com/org/repo.git");
  EXPECT_EQ(calls[1].Command(), "git clone --quiet -- " + Mirror() + " " + options_.directory);
  EXPECT_EQ(calls[2].Command(), "git -C " + options_.directory + " remote set-url origin " + options_.url);
  EXPECT_TRUE(std::filesystem::exists(Mirror() + "/HEAD"));
  EXPECT_EQ(calls[0].Env("GIT_TERMINAL_PROMPT"), "0");

  // Warm: the mirror is fetched, not cloned again.
  options_.directory = (dir_ / "work2").string();
  report = RunClone(options_, out_, git_);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->tier, "local");
  EXPECT_EQ(git_.CallCount({"git", "clone", "--mirror"}), 1u);
  EXPECT_EQ(git_.LastCall({"fetch"})->argv[2], Mirror());
}

TEST_F(RunCloneTest, FailedMirrorCloneLeavesNothingAndStopsBeforeCheckout) {
  git_.Set({"git", "clone", "--mirror"}, env::FakeProcessScript::Exit(128));
  auto report = RunClone(options_, out_, git_);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().message(), "creating the local mirror failed (git exit 128)");
  EXPECT_FALSE(std::filesystem::exists(Mirror()));
  EXPECT_EQ(git_.calls().size(), 1u);
}

TEST_F(RunCloneTest, FailedFetchOfAWarmMirrorIsReported) {
  ASSERT_TRUE(RunClone(options_, out_, git_).ok());
  git_.Set({"git", "fetch"}, env::FakeProcessScript::Exit(128));
  options_.directory = (dir_ / "work2").string();
  auto report = RunClone(options_, out_, git_);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().message(), "updating the local mirror failed (git exit 128)");
  EXPECT_EQ(git_.CallCount({"remote", "set-url"}), 1u);  // the second checkout never ran
}

TEST_F(RunCloneTest, MissingGitIsAnError) {
  git_.Set({"git"}, env::FakeProcessScript::SpawnFailure(Status::NotFound("spawn git: No such file or directory")));
  git_.Clear({"git", "clone", "--mirror"});
  git_.Clear({"git", "clone"});
  auto report = RunClone(options_, out_, git_);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code(), Code::kNotFound);
}

}  // namespace
}  // namespace cellar::gitclient
