#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "tasks/artifact/artifact.h"
#include "tasks/artifact/artifact_test_util.h"

namespace cellar::artifact {
namespace {

using testing::Exists;
using testing::ListTree;
using testing::MakeDirs;
using testing::MakeSymlink;
using testing::Outputs;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

class ArtifactRestoreTest : public ::testing::Test {
 protected:
  std::string Pack(const std::string& package, const std::vector<std::string>& outputs,
                   const std::string& log = "") {
    WriteOptions options;
    options.task_id = "web#build";
    options.duration_ms = 4200;
    options.log_bytes = log;
    std::string file = store_ / "artifact.tar.zst";
    auto info = WriteArtifact(package, Outputs(outputs), options, file);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return file;
  }

  Result<RestoreResult> Restore(const std::string& file, const std::string& package,
                                const std::vector<std::string>& outputs,
                                const RestoreOptions& options = {}) {
    return RestoreArtifact(file, package, Outputs(outputs), options);
  }

  TempDir src_, dst_, store_;
};

TEST_F(ArtifactRestoreTest, RoundTripKeepsModesSymlinksAndEmptyDirectories) {
  WriteFile(src_ / "dist/index.js", "console.log(1)\n");
  WriteFile(src_ / "dist/deep/nested/x.txt", "x");
  WriteFile(src_ / "bin/run.sh", "#!/bin/sh\necho hi\n", 0755);
  WriteFile(src_ / "bin/private", "secret", 0600);
  MakeSymlink("index.js", src_ / "dist/relative.js");
  MakeSymlink("../does/not/exist", src_ / "dist/dangling");
  MakeSymlink("deep", src_ / "dist/to-dir");
  MakeSymlink("/etc/hostname", src_ / "dist/absolute");
  MakeDirs(src_ / "dist/empty/inner");
  WriteFile(src_ / "src/main.ts", "not an output");
  std::string file = Pack(src_.path(), {"dist", "bin/*"}, "log text\n");

  auto result = Restore(file, dst_.path(), {"dist", "bin/*"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  WriteFile(dst_ / "src/main.ts", "not an output");
  EXPECT_EQ(ListTree(dst_.path()), ListTree(src_.path()));
  EXPECT_EQ(result->log, "log text\n");
  EXPECT_FALSE(result->log_truncated);
  EXPECT_EQ(result->metadata.task_id, "web#build");
  EXPECT_EQ(result->metadata.duration_ms, 4200);
  EXPECT_EQ(result->files_written, 4u);
  EXPECT_EQ(result->symlinks, 4u);
  EXPECT_EQ(std::system(("test \"$(" + (dst_ / "bin/run.sh") + ")\" = hi").c_str()), 0);
}

TEST_F(ArtifactRestoreTest, ModesAreExactWhateverTheUmask) {
  WriteFile(src_ / "out/group-writable", "g", 0664);
  std::string file = Pack(src_.path(), {"out"});
  mode_t old = ::umask(077);
  auto result = Restore(file, dst_.path(), {"out"});
  ::umask(old);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat((dst_ / "out/group-writable").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0664u);
}

TEST_F(ArtifactRestoreTest, RemovesStaleOutputsAndTheDirectoriesTheyLeaveEmpty) {
  WriteFile(src_ / "dist/keep.js", "keep");
  std::string file = Pack(src_.path(), {"dist", "!dist/cache"});
  WriteFile(dst_ / "dist/keep.js", "old");
  WriteFile(dst_ / "dist/stale.js", "stale");
  WriteFile(dst_ / "dist/old/dir/deep.js", "stale");
  MakeSymlink("keep.js", dst_ / "dist/stale-link");
  WriteFile(dst_ / "dist/cache/excluded", "not an output: stays");
  WriteFile(dst_ / "README.md", "not an output: stays");

  auto result = Restore(file, dst_.path(), {"dist", "!dist/cache"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(ReadFile(dst_ / "dist/keep.js"), "keep");
  EXPECT_FALSE(Exists(dst_ / "dist/stale.js"));
  EXPECT_FALSE(Exists(dst_ / "dist/stale-link"));
  EXPECT_FALSE(Exists(dst_ / "dist/old"));
  EXPECT_EQ(ReadFile(dst_ / "dist/cache/excluded"), "not an output: stays");
  EXPECT_EQ(ReadFile(dst_ / "README.md"), "not an output: stays");
  EXPECT_EQ(result->stale_removed, 5u);  // stale.js, stale-link, deep.js, old/dir, old
}

TEST_F(ArtifactRestoreTest, UnchangedFilesAreNotRewritten) {
  WriteFile(src_ / "dist/same.js", std::string(300000, 's'));
  WriteFile(src_ / "dist/differs.js", "new content");
  WriteFile(src_ / "dist/late-diff.bin", std::string(600000, 'a') + "new");
  std::string file = Pack(src_.path(), {"dist"});
  WriteFile(dst_ / "dist/same.js", std::string(300000, 's'));
  WriteFile(dst_ / "dist/differs.js", "old content");  // same size
  WriteFile(dst_ / "dist/late-diff.bin", std::string(600000, 'a') + "old");
  struct stat before_same, before_diff, after;
  ASSERT_EQ(::stat((dst_ / "dist/same.js").c_str(), &before_same), 0);
  ASSERT_EQ(::stat((dst_ / "dist/differs.js").c_str(), &before_diff), 0);

  auto result = Restore(file, dst_.path(), {"dist"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->files_unchanged, 1u);
  EXPECT_EQ(result->files_written, 2u);
  ASSERT_EQ(::stat((dst_ / "dist/same.js").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before_same.st_ino);
  EXPECT_EQ(after.st_mtim.tv_sec, before_same.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before_same.st_mtim.tv_nsec);
  ASSERT_EQ(::stat((dst_ / "dist/differs.js").c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before_diff.st_ino);  // replaced by rename, not edited in place
  EXPECT_EQ(ReadFile(dst_ / "dist/differs.js"), "new content");
  EXPECT_EQ(ReadFile(dst_ / "dist/late-diff.bin"), std::string(600000, 'a') + "new");
  EXPECT_EQ(ListTree(dst_.path()), ListTree(src_.path()));
}

TEST_F(ArtifactRestoreTest, ARightFileWithAWrongModeOnlyChangesMode) {
  WriteFile(src_ / "bin/tool", "#!/bin/sh\n", 0755);
  std::string file = Pack(src_.path(), {"bin"});
  WriteFile(dst_ / "bin/tool", "#!/bin/sh\n", 0644);
  struct stat before, after;
  ASSERT_EQ(::stat((dst_ / "bin/tool").c_str(), &before), 0);
  auto result = Restore(file, dst_.path(), {"bin"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(::stat((dst_ / "bin/tool").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mode & 0777, 0755u);
  EXPECT_EQ(result->files_unchanged, 1u);
}

TEST_F(ArtifactRestoreTest, OutputsOfAnotherTypeAreReplaced) {
  WriteFile(src_ / "dist/was-dir", "now a file");
  MakeSymlink("target", src_ / "dist/was-file");
  WriteFile(src_ / "dist/was-link/inner", "now a directory");
  std::string file = Pack(src_.path(), {"dist"});
  WriteFile(dst_ / "dist/was-dir/old/x", "x");
  WriteFile(dst_ / "dist/was-file", "file");
  MakeSymlink("/tmp", dst_ / "dist/was-link");
  auto result = Restore(file, dst_.path(), {"dist"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(ListTree(dst_.path()), ListTree(src_.path()));
}

// Go's module cache, for one, makes read-only directories of read-only files. (Run as root,
// permissions are not enforced; the test then only checks the round trip.)
TEST_F(ArtifactRestoreTest, ReadOnlyDirectoriesCanBeRestoredOverAgain) {
  WriteFile(src_ / "mod/pkg/a.go", "package a // v1", 0444);
  WriteFile(src_ / "mod/pkg/gone.go", "package a", 0444);
  ASSERT_EQ(::chmod((src_ / "mod/pkg").c_str(), 0555), 0);
  std::string file = Pack(src_.path(), {"mod"});
  ASSERT_TRUE(Restore(file, dst_.path(), {"mod"}).ok());
  EXPECT_EQ(ListTree(dst_.path()), ListTree(src_.path()));

  ASSERT_EQ(::chmod((src_ / "mod/pkg").c_str(), 0755), 0);
  WriteFile(src_ / "mod/pkg/a.go", "package a // v2", 0444);
  ASSERT_EQ(::unlink((src_ / "mod/pkg/gone.go").c_str()), 0);
  ASSERT_EQ(::chmod((src_ / "mod/pkg").c_str(), 0555), 0);
  file = Pack(src_.path(), {"mod"});
  auto result = Restore(file, dst_.path(), {"mod"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->stale_removed, 1u);
  EXPECT_EQ(ListTree(dst_.path()), ListTree(src_.path()));
}

TEST_F(ArtifactRestoreTest, LongLogsAreCutToTheCap) {
  WriteFile(src_ / "out", "o");
  std::string file = Pack(src_.path(), {"out"}, std::string(1000, 'L'));
  RestoreOptions options;
  options.max_log_bytes = 100;
  auto result = Restore(file, dst_.path(), {"out"}, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->log, std::string(100, 'L'));
  EXPECT_TRUE(result->log_truncated);
  EXPECT_EQ(result->metadata.log_bytes, 1000u);
}

TEST_F(ArtifactRestoreTest, LongAndNonAsciiNamesRoundTrip) {
  std::string long_dir(150, 'd');
  WriteFile(src_ / ("out/" + long_dir + "/" + std::string(120, 'f')), "long");
  WriteFile(src_ / "out/caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac.txt", "utf8");
  WriteFile(src_ / "out/latin1-\xe9.txt", "not utf8");
  std::string file = Pack(src_.path(), {"out"});
  auto result = Restore(file, dst_.path(), {"out"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(ListTree(dst_.path()), ListTree(src_.path()));
}

long PeakRssKiB() {
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// A large output goes through in fixed-size chunks: peak memory does not grow with it.
// CELLAR_ARTIFACT_BIG_MB sets the size (default 64; the report measured 200).
TEST_F(ArtifactRestoreTest, LargeFilesStreamInBoundedMemory) {
  const char* env = std::getenv("CELLAR_ARTIFACT_BIG_MB");
  const off_t mb = env ? std::atol(env) : 64;
  const off_t size = mb << 20;
  // Mostly a hole, with data at both ends so a restore that drops bytes is caught.
  WriteFile(src_ / "out/big.bin", "");
  ASSERT_EQ(::truncate((src_ / "out/big.bin").c_str(), size), 0);
  {
    std::fstream f(src_ / "out/big.bin", std::ios::in | std::ios::out | std::ios::binary);
    f << "head";
    f.seekp(size - 4);
    f << "tail";
  }
  long before = PeakRssKiB();
  std::string file = Pack(src_.path(), {"out"});
  auto result = Restore(file, dst_.path(), {"out"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  long growth_mib = (PeakRssKiB() - before) / 1024;
  std::printf("peak RSS growth for a %ld MiB output: %ld MiB\n", static_cast<long>(mb),
              growth_mib);
  EXPECT_LT(growth_mib, 32);
  struct stat st;
  ASSERT_EQ(::stat((dst_ / "out/big.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, size);
  std::ifstream in(dst_ / "out/big.bin", std::ios::binary);
  char head[4], tail[4];
  in.read(head, 4);
  in.seekg(size - 4);
  in.read(tail, 4);
  EXPECT_EQ(std::string(head, 4), "head");
  EXPECT_EQ(std::string(tail, 4), "tail");
}

}  // namespace
}  // namespace cellar::artifact
