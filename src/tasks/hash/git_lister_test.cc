#include "tasks/hash/git_lister.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

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

hash::GitBlobIdBytes Id(const std::string& s) {
  return hash::GitBlobId(std::as_bytes(std::span(s.data(), s.size())));
}

Paths PathsOf(const std::vector<GitFile>& files) {
  Paths paths;
  for (const GitFile& f : files) paths.push_back(f.path);
  std::sort(paths.begin(), paths.end());
  return paths;
}

Paths Sorted(Paths paths) {
  std::sort(paths.begin(), paths.end());
  return paths;
}

const GitFile* FindFile(const std::vector<GitFile>& files, const std::string& path) {
  return FindGitFile(files, path);
}

class GitLsFilesListerTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeEveryKindOfEntryRepository(tree_); }

  cellar::testing::TempTree tree_;
  env::SystemProcessRunner runner_;
  GitLsFilesLister lister_{runner_};
};

TEST_F(GitLsFilesListerTest, ListsTrackedAndUntrackedButNotIgnored) {
  auto files = lister_.ListFiles(tree_.root());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_TRUE(files->has_value());
  EXPECT_EQ(PathsOf(**files),
            Sorted({".gitignore", "bin/run.sh", "name with\nnewline", "pkg/b/deep/er/path/with a space.js",
                    "pkg/b/index.js", "src/a.ts", "src/edited.ts", "src/gone.ts", "src/hidden.ts",
                    "src/intent.ts", "src/link.ts", "src/new.ts", "src/sparse.ts", "src/staged.ts"}));
}

TEST_F(GitLsFilesListerTest, TheIndexVouchesOnlyForFilesThatAreExactlyWhatItRecords) {
  auto files = lister_.ListFiles(tree_.root());
  ASSERT_TRUE(files.ok() && files->has_value()) << files.status().ToString();
  const std::vector<GitFile>& all = **files;
  auto clean = [&](const std::string& path) {
    const GitFile* f = FindFile(all, path);
    return f != nullptr && f->clean_id.has_value();
  };
  // Clean, with the id `git hash-object` gives their content.
  ASSERT_TRUE(clean("src/a.ts"));
  EXPECT_EQ(*FindFile(all, "src/a.ts")->clean_id, Id("a"));
  EXPECT_FALSE(FindFile(all, "src/a.ts")->executable);
  ASSERT_TRUE(clean("bin/run.sh"));
  EXPECT_TRUE(FindFile(all, "bin/run.sh")->executable);
  // Staged: the index holds exactly the work-tree content.
  ASSERT_TRUE(clean("src/staged.ts"));
  EXPECT_EQ(*FindFile(all, "src/staged.ts")->clean_id, Id("staged"));
  // Everything else must be read.
  EXPECT_FALSE(clean("src/edited.ts"));
  EXPECT_FALSE(clean("src/gone.ts"));
  EXPECT_FALSE(clean("src/hidden.ts"));  // assume-unchanged: git would not look
  EXPECT_FALSE(clean("src/link.ts"));    // symlinks are read (cheap, and the target is shown)
  EXPECT_FALSE(clean("src/new.ts"));
  EXPECT_FALSE(clean("src/intent.ts"));  // git add -N: the index holds no content yet
  EXPECT_FALSE(clean("src/sparse.ts"));  // skip-worktree
}

TEST_F(GitLsFilesListerTest, SubdirectoryListingIsRelativeToIt) {
  auto files = lister_.ListFiles(tree_.Path("src"));
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_TRUE(files->has_value());
  EXPECT_EQ(PathsOf(**files), Sorted({"a.ts", "edited.ts", "gone.ts", "hidden.ts", "intent.ts", "link.ts",
                                      "new.ts", "sparse.ts", "staged.ts"}));
  // git status names paths from the top; the edit is still seen here.
  const GitFile* edited = FindFile(**files, "edited.ts");
  ASSERT_NE(edited, nullptr);
  EXPECT_FALSE(edited->clean_id.has_value());
  EXPECT_TRUE(FindFile(**files, "a.ts")->clean_id.has_value());
}

TEST(GitLsFilesLister, ConflictedPathsAreListedOnceAndRead) {
  cellar::testing::TempTree tree;
  MakeConflictedRepository(tree);
  env::SystemProcessRunner runner;
  GitLsFilesLister lister(runner);
  auto files = lister.ListFiles(tree.root());
  ASSERT_TRUE(files.ok() && files->has_value()) << files.status().ToString();
  ASSERT_EQ(PathsOf(**files), Paths{"f.txt"});
  EXPECT_FALSE((**files)[0].clean_id.has_value());
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
  void SetUp() override {
    runner_.Set(kStatus, env::FakeProcessScript::Exit(0, ""));
    runner_.Set(kPrefix, env::FakeProcessScript::Exit(0, "\n"));
  }
  const std::vector<std::string> kLsFiles = {"git", "ls-files"};
  const std::vector<std::string> kStatus = {"git", "status"};
  const std::vector<std::string> kPrefix = {"git", "rev-parse"};
  static std::string Entry(const std::string& record) { return record + std::string(1, '\0'); }
  env::FakeProcessRunner runner_;
  GitLsFilesLister lister_{runner_};
};

TEST_F(ScriptedGitTest, RunsThreeGitCommandsInTheDirectoryWithoutInheritedGitDir) {
  ::setenv("GIT_DIR", "/elsewhere/.git", 1);
  const std::string id(40, 'a');
  runner_.Set(kLsFiles, env::FakeProcessScript::Exit(
                            0, Entry("H 100644 " + id + " 0\tb") + Entry("H 100755 " + id + " 0\ta/c")));
  auto files = lister_.ListFiles("/ws");
  ::unsetenv("GIT_DIR");
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_TRUE(files->has_value());
  EXPECT_EQ(PathsOf(**files), (Paths{"a/c", "b"}));
  EXPECT_TRUE(FindFile(**files, "a/c")->executable);
  ASSERT_TRUE(FindFile(**files, "b")->clean_id.has_value());
  EXPECT_EQ((*FindFile(**files, "b")->clean_id)[0], 0xaa);
  auto ls = runner_.LastCall(kLsFiles);
  ASSERT_TRUE(ls.has_value());
  EXPECT_EQ(ls->argv, (Paths{"git", "ls-files", "-z", "-s", "-v"}));
  EXPECT_EQ(ls->cwd, "/ws");
  EXPECT_FALSE(ls->Env("GIT_DIR").has_value());
  auto status = runner_.LastCall(kStatus);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->argv, (Paths{"git", "status", "--porcelain", "-z", "--untracked-files=all",
                                 "--no-renames", "--ignore-submodules=all", "--", "."}));
  EXPECT_EQ(status->cwd, "/ws");
  EXPECT_FALSE(status->Env("GIT_DIR").has_value());
  EXPECT_EQ(runner_.CallCount(kLsFiles), 1u);
  EXPECT_EQ(runner_.CallCount(kStatus), 1u);
  EXPECT_EQ(runner_.CallCount(kPrefix), 1u);
}

TEST_F(ScriptedGitTest, StatusPathsFromTheTopAreMatchedUnderThePrefix) {
  const std::string id(40, 'b');
  runner_.Set(kLsFiles, env::FakeProcessScript::Exit(
                            0, Entry("H 100644 " + id + " 0\tsrc/x.ts") + Entry("H 100644 " + id + " 0\ty.ts")));
  runner_.Set(kPrefix, env::FakeProcessScript::Exit(0, "apps/web/\n"));
  runner_.Set(kStatus, env::FakeProcessScript::Exit(
                           0, Entry(" M apps/web/src/x.ts") + Entry("?? apps/web/new.ts") +
                                  Entry(" M other/y.ts")));
  auto files = lister_.ListFiles("/repo/apps/web");
  ASSERT_TRUE(files.ok() && files->has_value()) << files.status().ToString();
  EXPECT_EQ(PathsOf(**files), (Paths{"new.ts", "src/x.ts", "y.ts"}));
  EXPECT_FALSE(FindFile(**files, "src/x.ts")->clean_id.has_value());
  EXPECT_TRUE(FindFile(**files, "y.ts")->clean_id.has_value());  // "other/y.ts" is another file
  EXPECT_FALSE(FindFile(**files, "new.ts")->clean_id.has_value());
}

TEST_F(ScriptedGitTest, OnlyPlainCachedStageZeroSha1EntriesAreVouchedFor) {
  const std::string sha1(40, 'c');
  const std::string sha256(64, 'c');
  runner_.Set(kLsFiles, env::FakeProcessScript::Exit(
                            0, Entry("H 100644 " + sha1 + " 0\tplain") +
                                   Entry("S 100644 " + sha1 + " 0\tsparse") +
                                   Entry("h 100644 " + sha1 + " 0\tassumed") +
                                   Entry("H 120000 " + sha1 + " 0\tlink") +
                                   Entry("H 160000 " + sha1 + " 0\tsubmodule") +
                                   Entry("H 100644 " + sha256 + " 0\tsha256") +
                                   Entry("M 100644 " + sha1 + " 1\tconflict") +
                                   Entry("M 100644 " + sha1 + " 2\tconflict") +
                                   Entry("H 100644 " + std::string(40, 'z') + " 0\tnot-hex")));
  auto files = lister_.ListFiles("/ws");
  ASSERT_TRUE(files.ok() && files->has_value()) << files.status().ToString();
  EXPECT_EQ(PathsOf(**files), (Paths{"assumed", "conflict", "link", "not-hex", "plain", "sha256",
                                     "sparse", "submodule"}));
  for (const GitFile& f : **files) {
    EXPECT_EQ(f.clean_id.has_value(), f.path == "plain") << f.path;
  }
}

TEST_F(ScriptedGitTest, WorkTreeChangesAndConflictsClearTheIndexId) {
  const std::string id(40, 'd');
  std::string listing;
  for (const char* name : {"added", "conflict", "deleted", "modified", "staged", "typechange"}) {
    listing += Entry("H 100644 " + id + " 0\t" + name);
  }
  runner_.Set(kLsFiles, env::FakeProcessScript::Exit(0, listing));
  runner_.Set(kStatus, env::FakeProcessScript::Exit(
                           0, Entry("A  added") + Entry("UU conflict") + Entry(" D deleted") +
                                  Entry("MM modified") + Entry("M  staged") + Entry(" T typechange")));
  auto files = lister_.ListFiles("/ws");
  ASSERT_TRUE(files.ok() && files->has_value()) << files.status().ToString();
  for (const GitFile& f : **files) {
    const bool index_is_work_tree = f.path == "added" || f.path == "staged";
    EXPECT_EQ(f.clean_id.has_value(), index_is_work_tree) << f.path;
  }
}

TEST_F(ScriptedGitTest, MalformedLsFilesOutputIsAnError) {
  runner_.Set(kLsFiles, env::FakeProcessScript::Exit(0, Entry("just a path")));
  auto files = lister_.ListFiles("/ws");
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find("unexpected git ls-files output"), std::string::npos);
}

TEST_F(ScriptedGitTest, NotARepositoryIsNullopt) {
  runner_.Set(kLsFiles,
              env::FakeProcessScript::Exit(128, "", "fatal: not a git repository (or any of "
                                                    "the parent directories): .git\n"));
  runner_.Set(kStatus, env::FakeProcessScript::Exit(128, "", "fatal: not a git repository\n"));
  runner_.Set(kPrefix, env::FakeProcessScript::Exit(128, "", "fatal: not a git repository\n"));
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

TEST_F(ScriptedGitTest, AFailedStatusIsAnError) {
  runner_.Set(kLsFiles, env::FakeProcessScript::Exit(0, ""));
  runner_.Set(kStatus, env::FakeProcessScript::Exit(128, "", "fatal: unable to read tree\n"));
  auto files = lister_.ListFiles("/ws");
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find("unable to read tree"), std::string::npos);
}

TEST_F(ScriptedGitTest, AHungGitTimesOut) {
  env::FakeProcessRunner runner;
  runner.Set(kLsFiles, env::FakeProcessScript::Exit(0, ""));
  runner.Set(kStatus, env::FakeProcessScript::Hang());
  runner.Set(kPrefix, env::FakeProcessScript::Exit(0, "\n"));
  GitLsFilesLister lister(runner, GitLsFilesOptions{"git", std::chrono::milliseconds(100)});
  auto files = lister.ListFiles("/ws");
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), Code::kDeadlineExceeded);
}

TEST_F(ScriptedGitTest, OutputAtTheCapIsRefusedNotTruncated) {
  env::FakeProcessRunner runner;
  runner.Set(kLsFiles, env::FakeProcessScript::Exit(0, std::string(64, 'a')));
  runner.Set(kStatus, env::FakeProcessScript::Exit(0, ""));
  runner.Set(kPrefix, env::FakeProcessScript::Exit(0, "\n"));
  GitLsFilesLister lister(runner, GitLsFilesOptions{"git", std::chrono::seconds(10), 64});
  auto files = lister.ListFiles("/ws");
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), Code::kResourceExhausted);
}

TEST(ForEachNulSeparated, DropsEmptyEntries) {
  auto split = [](std::string_view out) {
    Paths records;
    ForEachNulSeparated(out, [&](std::string_view r) { records.emplace_back(r); });
    return records;
  };
  EXPECT_EQ(split(std::string_view("a\0b c\0\0d", 8)), (Paths{"a", "b c", "d"}));
  EXPECT_EQ(split(""), Paths{});
  EXPECT_EQ(split(std::string_view("x\0", 2)), Paths{"x"});
}

TEST(FakeGitLister, AnswersWhatItWasToldAndRecordsCalls) {
  FakeGitLister fake;
  fake.SetFiles("/ws", {"a"});
  fake.SetError("/broken", Status::Internal("boom"));
  auto a = fake.ListFiles("/ws");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ(PathsOf(**a), Paths{"a"});
  EXPECT_FALSE((**a)[0].clean_id.has_value());
  EXPECT_FALSE(fake.ListFiles("/broken").ok());
  auto none = fake.ListFiles("/elsewhere");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(fake.calls(), (Paths{"/ws", "/broken", "/elsewhere"}));
}

}  // namespace
}  // namespace cellar::taskhash
