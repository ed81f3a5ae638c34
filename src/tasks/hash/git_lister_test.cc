#include "tasks/hash/git_lister.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "env/fake_process_runner.h"
#include "tasks/hash/fake_git_lister.h"
#include "tasks/hash/hash_test_util.h"
#include "testing/temp_tree.h"

namespace cellar::taskhash {
namespace {

using Paths = std::vector<std::string>;

Paths Sorted(Paths paths) {
  std::sort(paths.begin(), paths.end());
  return paths;
}

class GitLsFilesListerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tree_.root().empty());
    ASSERT_TRUE(tree_.Write(".gitignore", "dist/\n*.log\n"));
    ASSERT_TRUE(tree_.Write("src/a.ts", "a"));
    ASSERT_TRUE(tree_.Write("src/gone.ts", "deleted later"));
    ASSERT_TRUE(tree_.Write("pkg/b/index.js", "b"));
    ASSERT_TRUE(RunGit(tree_.root(), {"init", "-q"}));
    ASSERT_TRUE(RunGit(tree_.root(), {"add", "."}));
    ASSERT_TRUE(RunGit(tree_.root(), {"commit", "-q", "-m", "init"}));
    // After the commit: untracked, ignored, and deleted-but-indexed files.
    ASSERT_TRUE(tree_.Write("src/new.ts", "untracked"));
    ASSERT_TRUE(tree_.Write("dist/out.js", "ignored"));
    ASSERT_TRUE(tree_.Write("debug.log", "ignored"));
    ASSERT_TRUE(tree_.Write("name with\nnewline", "odd names survive -z"));
    ASSERT_TRUE(tree_.Remove("src/gone.ts"));
  }

  cellar::testing::TempTree tree_;
  env::SystemProcessRunner runner_;
  GitLsFilesLister lister_{runner_};
};

TEST_F(GitLsFilesListerTest, ListsTrackedAndUntrackedButNotIgnored) {
  auto files = lister_.ListFiles(tree_.root());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_TRUE(files->has_value());
  EXPECT_EQ(Sorted(**files), Sorted({".gitignore", "name with\nnewline", "pkg/b/index.js",
                                     "src/a.ts", "src/gone.ts", "src/new.ts"}));
}

TEST_F(GitLsFilesListerTest, SubdirectoryListingIsRelativeToIt) {
  auto files = lister_.ListFiles(tree_.Path("src"));
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_TRUE(files->has_value());
  EXPECT_EQ(Sorted(**files), Sorted({"a.ts", "gone.ts", "new.ts"}));
}

TEST(GitLsFilesLister, OutsideARepositoryIsNullopt) {
  cellar::testing::TempTree tree;
  ASSERT_TRUE(tree.Write("a", "x"));
  // Make sure no parent of the temp dir is a repository either.
  if (RunGit(tree.root(), {"rev-parse", "--git-dir"})) GTEST_SKIP() << "TMPDIR is inside a repo";
  env::SystemProcessRunner runner;
  GitLsFilesLister lister(runner);
  auto files = lister.ListFiles(tree.root());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_FALSE(files->has_value());
}

TEST(GitLsFilesLister, MissingGitOutsideARepositoryIsNullopt) {
  cellar::testing::TempTree tree;
  if (RunGit(tree.root(), {"rev-parse", "--git-dir"})) GTEST_SKIP() << "TMPDIR is inside a repo";
  env::SystemProcessRunner runner;
  GitLsFilesLister lister(runner, GitLsFilesOptions{"/nonexistent/git"});
  auto files = lister.ListFiles(tree.root());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_FALSE(files->has_value());
  // With a .git present, a git that cannot run is an error, not "no repo".
  ASSERT_TRUE(tree.Mkdir(".git"));
  EXPECT_FALSE(lister.ListFiles(tree.root()).ok());
}

// The same contract against a scripted git: what is run, and how each
// outcome is read.
class ScriptedGitTest : public ::testing::Test {
 protected:
  const std::vector<std::string> kLsFiles = {"git", "ls-files"};
  env::FakeProcessRunner runner_;
  GitLsFilesLister lister_{runner_};
};

TEST_F(ScriptedGitTest, RunsLsFilesInTheDirectoryWithoutInheritedGitDir) {
  ::setenv("GIT_DIR", "/elsewhere/.git", 1);
  runner_.Set(kLsFiles, env::FakeProcessScript::Exit(0, std::string("b\0a/c\0", 6)));
  auto files = lister_.ListFiles("/ws");
  ::unsetenv("GIT_DIR");
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_TRUE(files->has_value());
  EXPECT_EQ(**files, (Paths{"b", "a/c"}));
  auto call = runner_.LastCall(kLsFiles);
  ASSERT_TRUE(call.has_value());
  EXPECT_EQ(call->argv, (Paths{"git", "ls-files", "-z", "--cached", "--others",
                               "--exclude-standard"}));
  EXPECT_EQ(call->cwd, "/ws");
  EXPECT_FALSE(call->Env("GIT_DIR").has_value());
  EXPECT_EQ(runner_.CallCount(kLsFiles), 1u);
}

TEST_F(ScriptedGitTest, NotARepositoryIsNullopt) {
  runner_.Set(kLsFiles,
              env::FakeProcessScript::Exit(128, "", "fatal: not a git repository (or any of "
                                                    "the parent directories): .git\n"));
  auto files = lister_.ListFiles("/ws");
  ASSERT_TRUE(files.ok());
  EXPECT_FALSE(files->has_value());
}

TEST_F(ScriptedGitTest, OtherFailuresAreErrorsQuotingGit) {
  runner_.Set(kLsFiles, env::FakeProcessScript::Exit(128, "", "fatal: index file corrupt\n"));
  auto files = lister_.ListFiles("/ws");
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find("index file corrupt"), std::string::npos);
}

TEST_F(ScriptedGitTest, AHungGitTimesOut) {
  env::FakeProcessRunner runner;
  runner.Set(kLsFiles, env::FakeProcessScript::Hang());
  GitLsFilesLister lister(runner, GitLsFilesOptions{"git", std::chrono::milliseconds(100)});
  auto files = lister.ListFiles("/ws");
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), Code::kDeadlineExceeded);
}

TEST_F(ScriptedGitTest, OutputAtTheCapIsRefusedNotTruncated) {
  env::FakeProcessRunner runner;
  runner.Set(kLsFiles, env::FakeProcessScript::Exit(0, std::string(64, 'a')));
  GitLsFilesLister lister(runner, GitLsFilesOptions{"git", std::chrono::seconds(10), 64});
  auto files = lister.ListFiles("/ws");
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), Code::kResourceExhausted);
}

TEST(SplitNulSeparated, DropsEmptyEntries) {
  EXPECT_EQ(SplitNulSeparated(std::string("a\0b c\0\0d", 8)), (Paths{"a", "b c", "d"}));
  EXPECT_EQ(SplitNulSeparated(""), Paths{});
  EXPECT_EQ(SplitNulSeparated(std::string("x\0", 2)), Paths{"x"});
}

TEST(FakeGitLister, AnswersWhatItWasToldAndRecordsCalls) {
  FakeGitLister fake;
  fake.SetFiles("/ws", {"a"});
  fake.SetError("/broken", Status::Internal("boom"));
  auto a = fake.ListFiles("/ws");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ(**a, Paths{"a"});
  EXPECT_FALSE(fake.ListFiles("/broken").ok());
  auto none = fake.ListFiles("/elsewhere");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(fake.calls(), (Paths{"/ws", "/broken", "/elsewhere"}));
}

}  // namespace
}  // namespace cellar::taskhash
