#include "tasks/hash/file_hasher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "hash/git_blob_id.h"
#include "base/digest.h"
#include "testing/temp_tree.h"

namespace cellar::taskhash {
namespace {

// What `git hash-object` says of a file holding `s`.
hash::GitBlobIdBytes Id(const std::string& s) {
  return hash::GitBlobId(std::as_bytes(std::span(s.data(), s.size())));
}

class FileHasherTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(tree_.root().empty()); }

  std::vector<std::optional<FileDigest>> MustHash(FileHasher& hasher,
                                                  const std::vector<std::string>& paths) {
    auto digests = hasher.Hash(tree_.root(), paths);
    EXPECT_TRUE(digests.ok()) << digests.status().ToString();
    return digests.ok() ? *digests : std::vector<std::optional<FileDigest>>(paths.size());
  }

  cellar::testing::TempTree tree_;
};

TEST_F(FileHasherTest, RegularFileIsTheGitBlobIdOfItsContent) {
  ASSERT_TRUE(tree_.Write("a.txt", "hello"));
  ASSERT_TRUE(tree_.Write("empty", ""));
  FileHasher hasher;
  auto digests = MustHash(hasher, {"a.txt", "empty"});
  ASSERT_TRUE(digests[0] && digests[1]);
  EXPECT_EQ(digests[0]->kind, FileKind::kRegular);
  EXPECT_EQ(digests[0]->id, Id("hello"));
  EXPECT_EQ(digests[1]->id, Id(""));
}

TEST_F(FileHasherTest, IdIsWhatGitHashObjectPrints) {
  ASSERT_TRUE(tree_.Write("hello", "hello\n"));
  FileHasher hasher;
  auto digests = MustHash(hasher, {"hello"});
  ASSERT_TRUE(digests[0]);
  EXPECT_EQ(ToHex(digests[0]->id), "ce013625030ba8dba906f756967f9e9ca394464a");
}

TEST_F(FileHasherTest, ExecutableBitIsPartOfTheDigest) {
  ASSERT_TRUE(tree_.Write("run.sh", "#!/bin/sh\n"));
  ASSERT_EQ(::chmod(tree_.Path("run.sh").c_str(), 0755), 0);
  FileHasher hasher;
  auto digests = MustHash(hasher, {"run.sh"});
  ASSERT_TRUE(digests[0]);
  EXPECT_EQ(digests[0]->kind, FileKind::kExecutable);
  EXPECT_EQ(digests[0]->id, Id("#!/bin/sh\n"));
}

TEST_F(FileHasherTest, SymlinkHashesItsTargetStringNotTheTargetContent) {
  ASSERT_TRUE(tree_.Write("target.txt", "one"));
  ASSERT_TRUE(tree_.Symlink("target.txt", "link"));
  ASSERT_TRUE(tree_.Symlink("/does/not/exist", "dangling"));
  ASSERT_TRUE(tree_.Mkdir("dir"));
  ASSERT_TRUE(tree_.Symlink("dir", "dirlink"));
  {
    FileHasher hasher;
    auto d = MustHash(hasher, {"link", "dangling", "dirlink"});
    ASSERT_TRUE(d[0] && d[1] && d[2]);
    EXPECT_EQ(d[0]->kind, FileKind::kSymlink);
    EXPECT_EQ(d[0]->id, Id("target.txt"));
    EXPECT_EQ(d[0]->symlink_target, "target.txt");
    EXPECT_EQ(d[1]->id, Id("/does/not/exist"));
    EXPECT_EQ(d[2]->kind, FileKind::kSymlink);
  }
  // Changing what the link points at changes nothing; retargeting does.
  ASSERT_TRUE(tree_.Write("target.txt", "two"));
  FileHasher again;
  auto d = MustHash(again, {"link"});
  ASSERT_TRUE(d[0]);
  EXPECT_EQ(d[0]->id, Id("target.txt"));
  ASSERT_TRUE(tree_.Remove("link"));
  ASSERT_TRUE(tree_.Symlink("other.txt", "link"));
  FileHasher third;
  d = MustHash(third, {"link"});
  ASSERT_TRUE(d[0]);
  EXPECT_EQ(d[0]->id, Id("other.txt"));
}

TEST_F(FileHasherTest, MissingFilesAndSpecialFilesAreAbsent) {
  ASSERT_EQ(::mkfifo(tree_.Path("fifo").c_str(), 0600), 0);
  ASSERT_TRUE(tree_.Write("present", "x"));
  FileHasher hasher;
  // A fifo is never opened (that would block): it is simply not an input.
  auto d = MustHash(hasher, {"gone", "fifo", "present", "present/below"});
  EXPECT_FALSE(d[0]);
  EXPECT_FALSE(d[1]);
  EXPECT_TRUE(d[2]);
  EXPECT_FALSE(d[3]);
}

TEST_F(FileHasherTest, DirectoriesListedByGitAreMarkedNotRead) {
  ASSERT_TRUE(tree_.Write("submodule/file", "x"));
  FileHasher hasher;
  auto d = MustHash(hasher, {"submodule"});
  ASSERT_TRUE(d[0]);
  EXPECT_EQ(d[0]->kind, FileKind::kDirectory);
}

TEST_F(FileHasherTest, UnreadableFileIsAnErrorNamingIt) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads everything";
  ASSERT_TRUE(tree_.Write("secret", "x"));
  ASSERT_EQ(::chmod(tree_.Path("secret").c_str(), 0), 0);
  FileHasher hasher;
  auto d = hasher.Hash(tree_.root(), {"secret"});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("secret"), std::string::npos);
}

TEST_F(FileHasherTest, ParallelHashingMatchesSerialAndKeepsOrder) {
  std::vector<std::string> paths;
  for (int i = 0; i < 300; ++i) {
    std::string path = "d" + std::to_string(i % 7) + "/f" + std::to_string(i);
    ASSERT_TRUE(tree_.Write(path, std::string(static_cast<size_t>(i) * 37, 'a' + i % 26)));
    paths.push_back(path);
  }
  FileHasher serial(FileHasherOptions{1, 4096});
  FileHasher parallel(FileHasherOptions{8, 512});
  auto a = MustHash(serial, paths);
  auto b = MustHash(parallel, paths);
  ASSERT_EQ(a.size(), paths.size());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a[5]->id, Id(std::string(5 * 37, 'a' + 5)));
}

TEST_F(FileHasherTest, EachFileIsReadOncePerHasher) {
  ASSERT_TRUE(tree_.Write("a", "1"));
  ASSERT_TRUE(tree_.Write("b", "2"));
  FileHasher hasher;
  auto first = MustHash(hasher, {"a", "b"});
  EXPECT_EQ(hasher.files_read(), 2u);
  auto second = MustHash(hasher, {"b", "a", "c"});
  EXPECT_EQ(hasher.files_read(), 3u);  // only "c" (absent) was new
  EXPECT_EQ(second[0], first[1]);
  EXPECT_EQ(second[1], first[0]);
  EXPECT_FALSE(second[2]);
}

TEST_F(FileHasherTest, LargeFileIsStreamedNotLoaded) {
  // A 192 MiB sparse file: reading it whole would raise the peak RSS by that
  // much; streaming through a 64 KiB buffer keeps it flat.
  constexpr off_t kSize = off_t{192} << 20;
  int fd = ::open(tree_.Path("big").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "head", 4, 0), 4);
  ASSERT_EQ(::pwrite(fd, "tail", 4, kSize - 4), 4);
  ::close(fd);

  struct rusage before;
  ASSERT_EQ(::getrusage(RUSAGE_SELF, &before), 0);
  FileHasher hasher(FileHasherOptions{2, size_t{64} << 10});
  auto d = MustHash(hasher, {"big"});
  struct rusage after;
  ASSERT_EQ(::getrusage(RUSAGE_SELF, &after), 0);
  ASSERT_TRUE(d[0]);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 64 * 1024) << "peak RSS grew (KiB)";

  hash::GitBlobHasher expected;
  expected.Begin(static_cast<uint64_t>(kSize));
  std::string zeros(1 << 20, '\0');
  expected.Update("head", 4);
  off_t done = 4;
  while (done < kSize - 4) {
    size_t n = static_cast<size_t>(std::min<off_t>(static_cast<off_t>(zeros.size()), kSize - 4 - done));
    expected.Update(zeros.data(), n);
    done += static_cast<off_t>(n);
  }
  expected.Update("tail", 4);
  EXPECT_EQ(d[0]->id, expected.Finalize());
}

}  // namespace
}  // namespace cellar::taskhash
