#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "base/digest.h"
#include "hash/sha256.h"
#include "tasks/artifact/artifact.h"
#include "tasks/artifact/artifact_test_util.h"

namespace cellar::artifact {
namespace {

using testing::MakeDirs;
using testing::MakeSymlink;
using testing::Outputs;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

void SetMtime(const std::string& path, time_t seconds) {
  struct timeval times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(::lutimes(path.c_str(), times), 0) << path;
}

TEST(ArtifactWriterTest, SameOutputsGiveIdenticalBytesWhateverOrderAndTimes) {
  TempDir a, b, out;
  // Tree a, created in one order.
  WriteFile(a / "dist/z.js", "zzz");
  WriteFile(a / "dist/a.js", "aaa");
  WriteFile(a / "dist/bin/run.sh", "#!/bin/sh\n", 0755);
  MakeSymlink("a.js", a / "dist/link.js");
  MakeDirs(a / "dist/empty");
  // Tree b, the same content created in the opposite order, with other mtimes.
  MakeDirs(b / "dist/empty");
  MakeSymlink("a.js", b / "dist/link.js");
  WriteFile(b / "dist/bin/run.sh", "#!/bin/sh\n", 0755);
  WriteFile(b / "dist/a.js", "aaa");
  WriteFile(b / "dist/z.js", "zzz");
  SetMtime(b / "dist/a.js", 1000);
  SetMtime(b / "dist/bin", 2000);
  SetMtime(b / "dist/link.js", 3000);

  WriteOptions options;
  options.task_id = "web#build";
  options.duration_ms = 1234;
  options.log_bytes = "building\n";
  auto info_a = WriteArtifact(a.path(), Outputs({"dist"}), options, out / "a.tar.zst");
  auto info_b = WriteArtifact(b.path(), Outputs({"dist"}), options, out / "b.tar.zst");
  ASSERT_TRUE(info_a.ok()) << info_a.status().ToString();
  ASSERT_TRUE(info_b.ok()) << info_b.status().ToString();
  std::string bytes_a = ReadFile(out / "a.tar.zst");
  EXPECT_EQ(bytes_a, ReadFile(out / "b.tar.zst"));
  EXPECT_EQ(info_a->Sha256Hex(), info_b->Sha256Hex());
  EXPECT_EQ(info_a->files, 3u);
  EXPECT_EQ(info_a->symlinks, 1u);
  EXPECT_EQ(info_a->directories, 3u);  // dist, dist/bin, dist/empty

  // A different mode is a different artifact.
  ASSERT_EQ(::chmod((b / "dist/a.js").c_str(), 0600), 0);
  ASSERT_TRUE(WriteArtifact(b.path(), Outputs({"dist"}), options, out / "c.tar.zst").ok());
  EXPECT_NE(bytes_a, ReadFile(out / "c.tar.zst"));
}

TEST(ArtifactWriterTest, ReportsSizeAndSha256OfTheFileWritten) {
  TempDir pkg, out;
  WriteFile(pkg / "out.txt", std::string(100000, 'x'));
  auto info = WriteArtifact(pkg.path(), Outputs({"out.txt"}), {}, out / "a.tar.zst");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  std::string bytes = ReadFile(out / "a.tar.zst");
  EXPECT_EQ(info->size_bytes, bytes.size());
  auto digest = hash::Sha256(std::as_bytes(std::span(bytes.data(), bytes.size())));
  EXPECT_EQ(info->Sha256Hex(), ToHex(digest));
}

TEST(ArtifactWriterTest, StoresMetadataAndALogReadFromAFile) {
  TempDir pkg, out;
  WriteFile(pkg / "dist/a", "a");
  WriteFile(out / "task.log", "line 1\nline 2\n");
  WriteOptions options;
  options.task_id = "api#test";
  options.duration_ms = 98765;
  options.log_file = out / "task.log";
  ASSERT_TRUE(WriteArtifact(pkg.path(), Outputs({"dist/**"}), options, out / "a.tar.zst").ok());
  auto meta = ReadArtifactMetadata(out / "a.tar.zst");
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->format_version, kFormatVersion);
  EXPECT_EQ(meta->task_id, "api#test");
  EXPECT_EQ(meta->duration_ms, 98765);
  EXPECT_EQ(meta->log_bytes, 14u);
}

TEST(ArtifactWriterTest, FailureLeavesNoFileBehind) {
  TempDir out;
  auto info = WriteArtifact(out / "no-such-package", Outputs({"dist"}), {}, out / "a.tar.zst");
  EXPECT_FALSE(info.ok());
  EXPECT_TRUE(testing::ListTree(out.path()).empty());
  WriteOptions options;
  options.log_file = out / "missing.log";
  TempDir pkg;
  EXPECT_FALSE(WriteArtifact(pkg.path(), Outputs({"dist"}), options, out / "a.tar.zst").ok());
  EXPECT_TRUE(testing::ListTree(out.path()).empty());
}

TEST(ArtifactWriterTest, ReplacesAnExistingArtifactAtomically) {
  TempDir pkg, out;
  WriteFile(out / "a.tar.zst", "old");
  WriteFile(pkg / "x", "new");
  ASSERT_TRUE(WriteArtifact(pkg.path(), Outputs({"x"}), {}, out / "a.tar.zst").ok());
  EXPECT_NE(ReadFile(out / "a.tar.zst"), "old");
  EXPECT_EQ(testing::ListTree(out.path()).size(), 1u);
}

}  // namespace
}  // namespace cellar::artifact
