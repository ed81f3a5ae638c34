#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tasks/hash/git_index.h"
#include "tasks/hash/git_index_lister.h"
#include "tasks/hash/git_lister.h"
#include "tasks/hash/hash_test_util.h"
#include "testing/temp_tree.h"

namespace cellar::taskhash {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const GitFile* FindFile(const std::vector<GitFile>& files, const std::string& path) {
  return FindGitFile(files, path);
}

// Each scenario runs GitIndexLister and, as the reference, GitLsFilesLister
// (git status itself) on the same real repository.
class GitIndexListerTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeEveryKindOfEntryRepository(tree_); }

  // Lets the timestamp tick pass and has git rewrite its index, so that no
  // entry is racily clean: then both listers must agree exactly.
  void Settle(const char* version = "3") {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_TRUE(RunGit(tree_.root(), {"status", "--porcelain"}));
    ASSERT_TRUE(RunGit(tree_.root(), {"update-index", "--index-version", version}));
  }

  std::vector<GitFile> Reference(const std::string& dir) {
    auto files = reference_.ListFiles(dir);
    EXPECT_TRUE(files.ok() && files->has_value()) << files.status().ToString();
    return files.ok() && files->has_value() ? **files : std::vector<GitFile>{};
  }

  std::vector<GitFile> Listed(const std::string& dir) {
    auto files = lister_.ListFiles(dir);
    EXPECT_TRUE(files.ok() && files->has_value()) << files.status().ToString();
    return files.ok() && files->has_value() ? **files : std::vector<GitFile>{};
  }

  cellar::testing::TempTree tree_;
  env::SystemProcessRunner runner_;
  GitLsFilesLister reference_{runner_};
  GitIndexLister lister_{runner_, reference_};
};

TEST_F(GitIndexListerTest, AgreesWithGitStatusOnEveryKindOfEntry) {
  Settle();
  std::vector<GitFile> listed = Listed(tree_.root());
  EXPECT_EQ(lister_.fallbacks(), 0);
  EXPECT_EQ(listed, Reference(tree_.root()));
  // The cases that matter, spelled out.
  ASSERT_NE(FindFile(listed, "src/a.ts"), nullptr);
  EXPECT_TRUE(FindFile(listed, "src/a.ts")->clean_id.has_value());
  EXPECT_TRUE(FindFile(listed, "bin/run.sh")->executable);
  EXPECT_TRUE(FindFile(listed, "src/staged.ts")->clean_id.has_value());
  for (const char* read : {"src/edited.ts", "src/gone.ts", "src/hidden.ts", "src/link.ts", "src/new.ts",
                           "src/intent.ts", "src/sparse.ts", "name with\nnewline"}) {
    ASSERT_NE(FindFile(listed, read), nullptr) << read;
    EXPECT_FALSE(FindFile(listed, read)->clean_id.has_value()) << read;
  }
  EXPECT_EQ(FindFile(listed, "dist/out.js"), nullptr);
  EXPECT_EQ(FindFile(listed, "debug.log"), nullptr);
}

TEST_F(GitIndexListerTest, ASubdirectoryAndVersion4IndexAgreeToo) {
  Settle("4");
  EXPECT_EQ(Listed(tree_.Path("src")), Reference(tree_.Path("src")));
  EXPECT_EQ(Listed(tree_.Path("pkg/b")), Reference(tree_.Path("pkg/b")));
  EXPECT_EQ(Listed(tree_.root()), Reference(tree_.root()));
  EXPECT_EQ(lister_.fallbacks(), 0);
}

TEST_F(GitIndexListerTest, NeverVouchesForAFileGitWouldNotEvenRightAfterAnEdit) {
  // No settling: entries may be racily clean, and a same-size edit within
  // the same tick as the index write must still be read.
  ASSERT_TRUE(RunGit(tree_.root(), {"add", "src/a.ts"}));
  ASSERT_TRUE(tree_.Write("src/a.ts", "b"));  // same size, at once
  std::vector<GitFile> listed = Listed(tree_.root());
  std::vector<GitFile> reference = Reference(tree_.root());
  ASSERT_EQ(listed.size(), reference.size());
  for (size_t i = 0; i < listed.size(); ++i) {
    EXPECT_EQ(listed[i].path, reference[i].path);
    if (listed[i].clean_id) {
      EXPECT_EQ(listed[i].clean_id, reference[i].clean_id) << listed[i].path;
    }
  }
  EXPECT_FALSE(FindFile(listed, "src/a.ts")->clean_id.has_value());
}

TEST_F(GitIndexListerTest, ATouchedButUnchangedFileIsReadNotVouchedFor) {
  Settle();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(tree_.Write("src/a.ts", "a"));  // same content, new stat data
  std::vector<GitFile> listed = Listed(tree_.root());
  EXPECT_FALSE(FindFile(listed, "src/a.ts")->clean_id.has_value());
  // git status compares the content, refreshes the index and vouches again.
  std::vector<GitFile> reference = Reference(tree_.root());
  EXPECT_TRUE(FindFile(reference, "src/a.ts")->clean_id.has_value());
}

TEST_F(GitIndexListerTest, ASplitIndexIsLeftToGit) {
  ASSERT_TRUE(RunGit(tree_.root(), {"update-index", "--split-index"}));
  Settle();
  ASSERT_TRUE(RunGit(tree_.root(), {"update-index", "--split-index"}));
  std::vector<GitFile> listed = Listed(tree_.root());
  EXPECT_EQ(lister_.fallbacks(), 1);
  EXPECT_EQ(listed, Reference(tree_.root()));
}

TEST_F(GitIndexListerTest, ALinkedWorktreeIsReadThroughItsGitFile) {
  const std::string other = tree_.root() + "-worktree";
  ASSERT_TRUE(RunGit(tree_.root(), {"worktree", "add", "-q", other}));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ASSERT_TRUE(RunGit(other, {"update-index", "--index-version", "3"}));
  std::vector<GitFile> listed = Listed(other);
  EXPECT_EQ(lister_.fallbacks(), 0);
  EXPECT_EQ(listed, Reference(other));
  EXPECT_TRUE(FindFile(listed, "src/a.ts")->clean_id.has_value());
  std::filesystem::remove_all(other);
}

TEST(GitIndexLister, ConflictedPathsAreListedOnceAndRead) {
  cellar::testing::TempTree tree;
  MakeConflictedRepository(tree);
  env::SystemProcessRunner runner;
  GitLsFilesLister reference(runner);
  GitIndexLister lister(runner, reference);
  auto listed = lister.ListFiles(tree.root());
  ASSERT_TRUE(listed.ok() && listed->has_value());
  EXPECT_EQ(lister.fallbacks(), 0);
  ASSERT_EQ((*listed)->size(), 1u);
  EXPECT_EQ((**listed)[0].path, "f.txt");
  EXPECT_FALSE((**listed)[0].clean_id.has_value());
  auto expected = reference.ListFiles(tree.root());
  ASSERT_TRUE(expected.ok() && expected->has_value());
  EXPECT_EQ(**listed, **expected);
}

TEST(GitIndexLister, ARepositoryWithNothingAddedListsUntrackedFiles) {
  cellar::testing::TempTree tree;
  ASSERT_TRUE(RunGit(tree.root(), {"init", "-q"}));
  ASSERT_TRUE(tree.Write("new.txt", "x"));
  env::SystemProcessRunner runner;
  GitLsFilesLister reference(runner);
  GitIndexLister lister(runner, reference);
  auto listed = lister.ListFiles(tree.root());
  ASSERT_TRUE(listed.ok() && listed->has_value()) << listed.status().ToString();
  EXPECT_EQ(lister.fallbacks(), 0);
  ASSERT_EQ((*listed)->size(), 1u);
  EXPECT_EQ((**listed)[0].path, "new.txt");
}

TEST(GitIndexLister, OutsideARepositoryTheFallbackAnswers) {
  cellar::testing::TempTree tree;
  if (FindGitLayout(tree.root())) GTEST_SKIP() << "TMPDIR is inside a repo";
  env::SystemProcessRunner runner;
  GitLsFilesLister reference(runner);
  GitIndexLister lister(runner, reference);
  auto listed = lister.ListFiles(tree.root());
  ASSERT_TRUE(listed.ok());
  EXPECT_FALSE(listed->has_value());
  EXPECT_EQ(lister.fallbacks(), 1);
}

TEST(GitIndexLister, ASha256RepositoryOrCoreWorktreeIsLeftToGit) {
  cellar::testing::TempTree tree;
  ASSERT_TRUE(RunGit(tree.root(), {"init", "-q"}));
  ASSERT_TRUE(tree.Write("a.txt", "a"));
  ASSERT_TRUE(RunGit(tree.root(), {"add", "."}));
  std::ofstream(tree.Path(".git/config"), std::ios::app) << "[extensions]\n\tobjectFormat = sha256\n";
  env::SystemProcessRunner runner;
  GitLsFilesLister reference(runner);
  GitIndexLister lister(runner, reference);
  (void)lister.ListFiles(tree.root());  // git itself may refuse the edited config: only who answered matters
  EXPECT_EQ(lister.fallbacks(), 1);
}

// --- the index reader ------------------------------------------------------

class GitIndexFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tree_.Write("a.txt", "a"));
    ASSERT_TRUE(tree_.Write("dir/b.txt", "bb"));
    ASSERT_TRUE(tree_.Write("dir/c.txt", "ccc"));
    ASSERT_TRUE(RunGit(tree_.root(), {"init", "-q"}));
    ASSERT_TRUE(RunGit(tree_.root(), {"add", "."}));
  }
  std::string Index() { return ReadAll(tree_.Path(".git/index")); }

  cellar::testing::TempTree tree_;
};

TEST_F(GitIndexFileTest, ReadsEntriesWithTheirStatDataAndKeepsThoseUnderThePrefix) {
  auto index = ReadGitIndex(tree_.Path(".git/index"), "");
  ASSERT_TRUE(index.ok() && index->has_value());
  ASSERT_EQ((*index)->entries.size(), 3u);
  const GitIndexEntry& b = (*index)->entries[1];
  EXPECT_EQ(b.path, "dir/b.txt");
  EXPECT_EQ(b.mode, 0100644u);
  EXPECT_EQ(b.size, 2u);
  EXPECT_EQ(b.stage, 0);
  const std::string bb = "bb";
  EXPECT_EQ(b.id, hash::GitBlobId(std::as_bytes(std::span(bb.data(), bb.size()))));
  struct stat st;
  ASSERT_EQ(::lstat(tree_.Path("dir/b.txt").c_str(), &st), 0);
  EXPECT_EQ(b.ino, static_cast<uint32_t>(st.st_ino));
  EXPECT_EQ(b.mtime_ns, static_cast<uint32_t>(st.st_mtim.tv_nsec));
  EXPECT_GT((*index)->file_mtime_s, 0);

  auto under = ReadGitIndex(tree_.Path(".git/index"), "dir/");
  ASSERT_TRUE(under.ok() && under->has_value());
  ASSERT_EQ((*under)->entries.size(), 2u);
  EXPECT_EQ((*under)->entries[0].path, "b.txt");
  EXPECT_EQ((*under)->entries[1].path, "c.txt");

  EXPECT_EQ(ReadGitIndex(tree_.Path(".git/missing"), "").error().code(), Code::kNotFound);
}

TEST_F(GitIndexFileTest, Version4PathsAreUncompressed) {
  ASSERT_TRUE(RunGit(tree_.root(), {"update-index", "--index-version", "4"}));
  std::optional<GitIndex> index = ParseGitIndex(Index(), "");
  ASSERT_TRUE(index.has_value());
  ASSERT_EQ(index->entries.size(), 3u);
  EXPECT_EQ(index->entries[0].path, "a.txt");
  EXPECT_EQ(index->entries[1].path, "dir/b.txt");
  EXPECT_EQ(index->entries[2].path, "dir/c.txt");
}

TEST_F(GitIndexFileTest, AnythingItDoesNotHandleIsNullopt) {
  const std::string good = Index();
  ASSERT_TRUE(ParseGitIndex(good, "").has_value());
  EXPECT_FALSE(ParseGitIndex("", "").has_value());
  EXPECT_FALSE(ParseGitIndex("not an index at all, not at all, really", "").has_value());
  for (size_t cut : {size_t{13}, size_t{40}, size_t{90}, good.size() - 21}) {
    EXPECT_FALSE(ParseGitIndex(good.substr(0, cut) + std::string(20, '\0'), "").has_value()) << cut;
  }
  std::string v5 = good;
  v5[7] = 5;
  EXPECT_FALSE(ParseGitIndex(v5, "").has_value());
  // Extensions go before the 20-byte checksum: an optional one (upper-case
  // signature) is skipped, a required one is refused.
  auto with_extension = [&](const std::string& signature) {
    std::string bytes = good.substr(0, good.size() - 20);
    const std::string body = "xyz";
    bytes += signature + std::string("\0\0\0\3", 4) + body + std::string(20, '\0');
    return bytes;
  };
  EXPECT_TRUE(ParseGitIndex(with_extension("ZZZZ"), "").has_value());
  EXPECT_FALSE(ParseGitIndex(with_extension("link"), "").has_value());
  EXPECT_FALSE(ParseGitIndex(with_extension("sdir"), "").has_value());
}

TEST(IndexVouchesFor, OnlyTheSameStatDataOlderThanTheIndex) {
  GitIndex index;
  index.file_mtime_s = 1000;
  index.file_mtime_ns = 500;
  GitIndexEntry e;
  e.mode = 0100644;
  e.size = 10;
  e.ino = 7;
  e.uid = 1;
  e.gid = 2;
  e.mtime_s = 999;
  e.mtime_ns = 5;
  e.ctime_s = 999;
  e.ctime_ns = 6;
  struct stat st {};
  st.st_mode = S_IFREG | 0644;
  st.st_size = 10;
  st.st_ino = 7;
  st.st_uid = 1;
  st.st_gid = 2;
  st.st_mtim = {999, 5};
  st.st_ctim = {999, 6};
  EXPECT_TRUE(IndexVouchesFor(e, st, index));
  auto differs = [&](auto change) {
    struct stat other = st;
    change(other);
    return !IndexVouchesFor(e, other, index);
  };
  EXPECT_TRUE(differs([](struct stat& s) { s.st_size = 11; }));
  EXPECT_TRUE(differs([](struct stat& s) { s.st_ino = 8; }));
  EXPECT_TRUE(differs([](struct stat& s) { s.st_uid = 9; }));
  EXPECT_TRUE(differs([](struct stat& s) { s.st_mtim.tv_nsec = 6; }));
  EXPECT_TRUE(differs([](struct stat& s) { s.st_ctim.tv_sec = 1001; }));
  EXPECT_TRUE(differs([](struct stat& s) { s.st_mode = S_IFREG | 0755; }));  // execute bit
  EXPECT_TRUE(differs([](struct stat& s) { s.st_mode = S_IFLNK | 0777; }));
  // Racily clean: modified in (or after) the tick the index was written.
  GitIndexEntry racy = e;
  racy.mtime_s = 1000;
  racy.mtime_ns = 500;
  struct stat racy_st = st;
  racy_st.st_mtim = {1000, 500};
  EXPECT_FALSE(IndexVouchesFor(racy, racy_st, index));
  racy.mtime_ns = racy_st.st_mtim.tv_nsec = 499;
  EXPECT_TRUE(IndexVouchesFor(racy, racy_st, index));
}

}  // namespace
}  // namespace cellar::taskhash
