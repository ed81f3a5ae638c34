#include "tasks/hash/digest_memo.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "hash/git_blob_id.h"
#include "tasks/hash/file_hasher.h"
#include "testing/temp_tree.h"

namespace cellar::taskhash {
namespace {

using std::chrono::system_clock;

hash::GitBlobIdBytes Id(const std::string& s) {
  return hash::GitBlobId(std::as_bytes(std::span(s.data(), s.size())));
}

// A stamp an hour older than `now`: safely outside the racy window.
FileStamp OldStamp(system_clock::time_point now, uint64_t size = 5) {
  FileStamp s;
  s.size = size;
  s.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>((now - std::chrono::hours(1)).time_since_epoch())
                   .count();
  s.ctime_ns = s.mtime_ns;
  s.inode = 42;
  s.device = 7;
  s.mode = 0100644;
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(DigestMemoTest, DigestIsFoundOnlyForTheIdenticalStamp) {
  const auto now = system_clock::now();
  DigestMemo memo(now);
  const FileStamp stamp = OldStamp(now);
  memo.Remember(stamp, Id("hello"));
  // Found after a save and a load (the loaded form is what runs search).
  cellar::testing::TempTree tree;
  ASSERT_TRUE(memo.Save(tree.Path("memo")).ok());
  DigestMemo loaded(now);
  loaded.Load(tree.Path("memo"));
  ASSERT_TRUE(loaded.Find(stamp));
  EXPECT_EQ(*loaded.Find(stamp), Id("hello"));

  // Every field of the stamp matters: a file rewritten with its old mtime
  // put back still has a new ctime, a replaced file a new inode.
  std::vector<FileStamp> changed(6, stamp);
  changed[0].size++;
  changed[1].mtime_ns++;
  changed[2].ctime_ns++;
  changed[3].inode++;
  changed[4].device++;
  changed[5].mode |= 0100;
  for (const FileStamp& s : changed) EXPECT_FALSE(loaded.Find(s));
}

TEST(DigestMemoTest, StampsInsideTheRacyWindowAreNotRemembered) {
  const auto now = system_clock::now();
  DigestMemo memo(now);
  FileStamp recent_mtime = OldStamp(now);
  recent_mtime.mtime_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>((now - std::chrono::seconds(1)).time_since_epoch()).count();
  FileStamp recent_ctime = OldStamp(now);
  recent_ctime.ctime_ns = recent_mtime.mtime_ns;
  recent_ctime.inode++;
  memo.Remember(recent_mtime, Id("m"));
  memo.Remember(recent_ctime, Id("c"));
  EXPECT_EQ(memo.size(), 0u);
}

TEST(DigestMemoTest, SavedMemoLoadsBackAndAnUnchangedMemoWritesNothing) {
  cellar::testing::TempTree tree;
  const std::string path = tree.Path("memo");
  const auto now = system_clock::now();
  DigestMemo memo(now);
  FileStamp a = OldStamp(now, 5);
  FileStamp c = OldStamp(now, 1);
  c.inode = 9;
  memo.Remember(a, Id("hello"));
  memo.Remember(c, Id("c"));
  ASSERT_TRUE(memo.Save(path).ok());

  DigestMemo loaded(now);
  loaded.Load(path);
  EXPECT_EQ(loaded.size(), 2u);
  ASSERT_TRUE(loaded.Find(a));
  EXPECT_EQ(*loaded.Find(a), Id("hello"));
  EXPECT_EQ(*loaded.Find(c), Id("c"));

  // A second generation: one entry replaced, one added, one kept.
  FileStamp a2 = a;
  a2.mtime_ns += 5;
  FileStamp d = OldStamp(now, 2);
  d.inode = 1;
  loaded.Remember(a2, Id("hello again"));
  loaded.Remember(d, Id("d"));
  ASSERT_TRUE(loaded.Save(path).ok());
  DigestMemo third(now);
  third.Load(path);
  EXPECT_EQ(third.size(), 3u);
  EXPECT_FALSE(third.Find(a));
  EXPECT_EQ(*third.Find(a2), Id("hello again"));
  EXPECT_EQ(*third.Find(c), Id("c"));
  EXPECT_EQ(*third.Find(d), Id("d"));
  loaded.Load(path);  // nothing remembered since: Save below writes nothing

  // Nothing new: Save leaves the file alone (a full hit writes nothing).
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_TRUE(loaded.Save(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(DigestMemoTest, MissingOrDamagedFileGivesAnEmptyMemo) {
  cellar::testing::TempTree tree;
  const auto now = system_clock::now();
  auto loaded_size = [&](const std::string& path) {
    DigestMemo m(now);
    m.Load(path);
    return m.size();
  };
  EXPECT_EQ(loaded_size(tree.Path("absent")), 0u);

  DigestMemo memo(now);
  FileStamp b = OldStamp(now);
  b.inode = 43;
  memo.Remember(OldStamp(now), Id("a"));
  memo.Remember(b, Id("b"));
  ASSERT_TRUE(memo.Save(tree.Path("memo")).ok());
  const std::string good = ReadFile(tree.Path("memo"));
  ASSERT_EQ(loaded_size(tree.Path("memo")), 2u);

  auto with_byte = [&](size_t at, char value) {
    std::string s = good;
    s[at] = value;
    return s;
  };
  const std::vector<std::string> damaged = {
      good.substr(0, good.size() - 3),         // cut short
      good + "x",                              // longer than its count says
      with_byte(12, 99),                       // another version
      with_byte(40, static_cast<char>(good[40] ^ 1)),  // a flipped bit in a record
      with_byte(good.size() - 1, static_cast<char>(good.back() ^ 1)),  // in the checksum
      std::string(good.size(), '\0'),
      std::string(),
  };
  for (const std::string& text : damaged) {
    ASSERT_TRUE(tree.Write("memo", text));
    EXPECT_EQ(loaded_size(tree.Path("memo")), 0u) << text;
  }
}

// The memo through FileHasher, on real files.
class MemoFileHasherTest : public ::testing::Test {
 protected:
  // The "run" starts an hour from now, so files written by the test are
  // outside the racy window (ctime cannot be set back).
  system_clock::time_point Later() const { return system_clock::now() + std::chrono::hours(1); }

  Result<std::vector<std::optional<FileDigest>>> HashWith(DigestMemo& memo, const std::vector<std::string>& paths,
                                                          size_t* memo_hits = nullptr) {
    FileHasher hasher({.threads = 2, .memo = &memo});
    auto out = hasher.Hash(tree_.root(), paths);
    if (memo_hits) *memo_hits = hasher.memo_hits();
    return out;
  }

  cellar::testing::TempTree tree_;
};

TEST_F(MemoFileHasherTest, UnchangedFilesAreAnsweredByTheMemoWithTheSameDigests) {
  std::vector<std::string> paths;
  for (int i = 0; i < 20; ++i) {
    paths.push_back("f" + std::to_string(i));
    ASSERT_TRUE(tree_.Write(paths.back(), "content " + std::to_string(i)));
  }
  DigestMemo first(Later());
  size_t hits = 99;
  auto cold = HashWith(first, paths, &hits);
  ASSERT_TRUE(cold.ok());
  EXPECT_EQ(hits, 0u);
  ASSERT_TRUE(first.Save(tree_.Path("memo")).ok());

  DigestMemo second(Later());
  second.Load(tree_.Path("memo"));
  auto warm = HashWith(second, paths, &hits);
  ASSERT_TRUE(warm.ok());
  EXPECT_EQ(hits, paths.size());
  EXPECT_EQ(*warm, *cold);
}

TEST_F(MemoFileHasherTest, ContentChangedUnderTheOldMtimeAndSizeIsReadAgain) {
  ASSERT_TRUE(tree_.Write("a", "one"));
  DigestMemo first(Later());
  ASSERT_TRUE(HashWith(first, {"a"}).ok());
  ASSERT_TRUE(first.Save(tree_.Path("memo")).ok());
  size_t hits = 0;
  DigestMemo unchanged(Later());
  unchanged.Load(tree_.Path("memo"));
  ASSERT_TRUE(HashWith(unchanged, {"a"}, &hits).ok());
  ASSERT_EQ(hits, 1u);  // the memo answers while nothing changed

  struct stat before;
  ASSERT_EQ(::stat(tree_.Path("a").c_str(), &before), 0);
  // Same size, mtime put back: only the ctime tells.
  ASSERT_TRUE(tree_.Write("a", "two"));
  timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, tree_.Path("a").c_str(), times, 0), 0);
  struct stat after;
  ASSERT_EQ(::stat(tree_.Path("a").c_str(), &after), 0);
  ASSERT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  ASSERT_EQ(after.st_size, before.st_size);

  DigestMemo changed(Later());
  changed.Load(tree_.Path("memo"));
  auto again = HashWith(changed, {"a"}, &hits);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(hits, 0u);
  ASSERT_TRUE((*again)[0]);
  EXPECT_EQ((*again)[0]->id, Id("two"));
}

TEST_F(MemoFileHasherTest, FilesWrittenJustBeforeTheRunAreReadEveryTime) {
  ASSERT_TRUE(tree_.Write("fresh", "new"));
  DigestMemo memo(system_clock::now());  // the file is inside the racy window
  ASSERT_TRUE(HashWith(memo, {"fresh"}).ok());
  EXPECT_EQ(memo.size(), 0u);
}

TEST_F(MemoFileHasherTest, ExecutableBitChangeIsSeen) {
  ASSERT_TRUE(tree_.Write("run.sh", "#!/bin/sh\n"));
  DigestMemo memo(Later());
  auto plain = HashWith(memo, {"run.sh"});
  ASSERT_TRUE(plain.ok() && (*plain)[0]);
  EXPECT_EQ((*plain)[0]->kind, FileKind::kRegular);
  ASSERT_TRUE(memo.Save(tree_.Path("memo")).ok());
  ASSERT_EQ(::chmod(tree_.Path("run.sh").c_str(), 0755), 0);
  DigestMemo loaded(Later());
  loaded.Load(tree_.Path("memo"));
  size_t hits = 0;
  auto exec = HashWith(loaded, {"run.sh"}, &hits);
  ASSERT_TRUE(exec.ok() && (*exec)[0]);
  EXPECT_EQ((*exec)[0]->kind, FileKind::kExecutable);
  EXPECT_EQ(hits, 0u);
}

}  // namespace
}  // namespace cellar::taskhash
