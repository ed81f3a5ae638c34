// Artifacts built by hand that try to escape the package or smuggle in what our writer never
// writes. Each must be refused, leave the package as it was and nothing outside it touched.
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "tasks/artifact/artifact.h"
#include "tasks/artifact/artifact_test_util.h"

namespace cellar::artifact {
namespace {

using testing::Dir;
using testing::Exists;
using testing::File;
using testing::ListTree;
using testing::MakeDirs;
using testing::MakeSymlink;
using testing::Outputs;
using testing::RawEntry;
using testing::ReadFile;
using testing::Symlink;
using testing::TempDir;
using testing::WriteFile;
using testing::WriteRawArtifact;

class ArtifactSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    package_ = root_ / "repo/pkg";
    WriteFile(package_ + "/src/keep.ts", "source");
    WriteFile(root_ / "outside/victim", "untouched");
  }

  // Restores `entries` with outputs "**" (everything in the package) and expects a refusal.
  void ExpectRefused(const std::vector<RawEntry>& entries, Code code = Code::kPermissionDenied) {
    std::string file = root_ / "evil.tar.zst";
    WriteRawArtifact(file, entries);
    std::vector<std::string> before = ListTree(root_.path());
    auto result = RestoreArtifact(file, package_, Outputs({"**"}));
    ASSERT_FALSE(result.ok()) << "restored an artifact that should be refused";
    EXPECT_EQ(result.status().code(), code) << result.status().ToString();
    EXPECT_EQ(ReadFile(root_ / "outside/victim"), "untouched");
    EXPECT_FALSE(Exists(root_ / "outside/x"));
    EXPECT_FALSE(Exists(root_ / "repo/x"));
    EXPECT_FALSE(Exists("/tmp/cellar-artifact-evil"));
    // Nothing of the artifact became visible (directories it created may remain).
    for (const std::string& line : ListTree(root_.path())) {
      if (line.starts_with("d ")) continue;
      EXPECT_NE(std::find(before.begin(), before.end(), line), before.end()) << "new: " << line;
    }
  }

  TempDir root_;
  std::string package_;
};

TEST_F(ArtifactSafetyTest, RefusesParentSegments) {
  ExpectRefused({File("../x", "evil")});
  ExpectRefused({File("a/../../x", "evil")});
  ExpectRefused({File("ok", "fine"), File("a/../../../outside/x", "evil")});
}

TEST_F(ArtifactSafetyTest, RefusesAbsolutePaths) {
  RawEntry absolute = File("", "evil");
  absolute.name = root_ / "outside/x";
  ExpectRefused({absolute});
  ExpectRefused({File("/tmp/cellar-artifact-evil", "evil")});  // files//tmp/...
}

TEST_F(ArtifactSafetyTest, RefusesEntriesOutsideFiles) {
  RawEntry stray = File("", "evil");
  stray.name = "src/keep.ts";
  ExpectRefused({stray});
}

TEST_F(ArtifactSafetyTest, RefusesWritingThroughASymlinkOfTheArtifact) {
  ExpectRefused({Symlink("evil", root_ / "outside"), File("evil/x", "evil")});
  ExpectRefused({Symlink("evil", "/tmp"), File("evil/cellar-artifact-evil", "evil")});
  // The same in the other order: the file first, then the link over its directory.
  ExpectRefused({File("evil/x", "evil"), Symlink("evil", root_ / "outside")});
  // Chains of links to parents.
  ExpectRefused({Symlink("up", ".."), Symlink("up2", "up/.."), File("up2/outside/x", "evil")});
  ExpectRefused({Dir("d"), Symlink("d/up", "../.."), File("d/up/x", "evil")});
}

TEST_F(ArtifactSafetyTest, RefusesWritingThroughAnExistingSymlinkThatLeavesThePackage) {
  MakeSymlink("../../outside", package_ + "/linked");
  // "linked" is not an output here, so it is the package's own link and is not replaced.
  std::string file = root_ / "evil.tar.zst";
  WriteRawArtifact(file, {File("linked/x", "evil")});
  auto result = RestoreArtifact(file, package_, Outputs({"linked/x"}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kPermissionDenied) << result.status().ToString();
  EXPECT_FALSE(Exists(root_ / "outside/x"));
}

TEST_F(ArtifactSafetyTest, WritesThroughAnExistingSymlinkThatStaysInside) {
  MakeDirs(package_ + "/real");
  MakeSymlink("real", package_ + "/alias");
  std::string file = root_ / "ok.tar.zst";
  WriteRawArtifact(file, {File("alias/x", "fine")});
  auto result = RestoreArtifact(file, package_, Outputs({"alias/x"}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(ReadFile(package_ + "/real/x"), "fine");
}

TEST_F(ArtifactSafetyTest, LinksThatEscapeMayExistButAreNotFollowed) {
  std::string file = root_ / "ok.tar.zst";
  WriteRawArtifact(file, {Symlink("out/up", "../../../outside/victim")});
  auto result = RestoreArtifact(file, package_, Outputs({"out"}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(ReadFile(root_ / "outside/victim"), "untouched");
  char target[256] = {};
  ASSERT_GT(::readlink((package_ + "/out/up").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "../../../outside/victim");
}

TEST_F(ArtifactSafetyTest, RefusesHardLinksDevicesFifosAndSetuid) {
  RawEntry hard = File("hard", "");
  hard.hardlink = "files/src/keep.ts";
  ExpectRefused({File("first", "x"), hard});
  RawEntry device = File("null", "");
  device.type = AE_IFCHR;
  ExpectRefused({device});
  RawEntry fifo = File("fifo", "");
  fifo.type = AE_IFIFO;
  ExpectRefused({fifo});
  ExpectRefused({File("suid", "#!/bin/sh\n", 04755)});
  ExpectRefused({File("sgid", "#!/bin/sh\n", 02755)});
}

TEST_F(ArtifactSafetyTest, RefusesEntriesOutsideTheOutputs) {
  std::string file = root_ / "a.tar.zst";
  WriteRawArtifact(file, {File("dist/a.js", "a"), File("src/keep.ts", "overwritten")});
  auto result = RestoreArtifact(file, package_, Outputs({"dist"}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(ReadFile(package_ + "/src/keep.ts"), "source");
  EXPECT_FALSE(Exists(package_ + "/dist/a.js"));  // refused before anything was renamed
}

class ArtifactCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(src_ / "dist/a.txt", std::string(200000, 'a'));
    WriteFile(src_ / "dist/b.txt", "b");
    auto info = WriteArtifact(src_.path(), Outputs({"dist"}), {}, file_);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    bytes_ = ReadFile(file_);
  }

  void ExpectCorrupt(const std::string& bytes) {
    std::ofstream(file_, std::ios::binary | std::ios::trunc) << bytes;
    auto result = RestoreArtifact(file_, dst_.path(), Outputs({"dist"}));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), Code::kCorruption) << result.status().ToString();
    EXPECT_TRUE(ListTree(dst_.path()).empty() ||
                ListTree(dst_.path()) == std::vector<std::string>{"d dist 755"})
        << "a corrupt artifact left files behind";
  }

  TempDir src_, dst_, store_;
  std::string file_ = store_ / "a.tar.zst";
  std::string bytes_;
};

TEST_F(ArtifactCorruptionTest, TruncatedAnywhereIsAnError) {
  for (size_t keep : {size_t{0}, size_t{3}, size_t{20}, bytes_.size() / 2, bytes_.size() - 5,
                      bytes_.size() - 1}) {
    SCOPED_TRACE(keep);
    ExpectCorrupt(bytes_.substr(0, keep));
  }
}

TEST_F(ArtifactCorruptionTest, AFlippedByteIsAnError) {
  for (size_t at : {size_t{10}, bytes_.size() / 2, bytes_.size() - 8, bytes_.size() - 2}) {
    SCOPED_TRACE(at);
    std::string bad = bytes_;
    bad[at] = static_cast<char>(bad[at] ^ 0x20);
    ExpectCorrupt(bad);
  }
}

TEST_F(ArtifactCorruptionTest, TrailingBytesAreAnError) { ExpectCorrupt(bytes_ + "junk"); }

TEST_F(ArtifactCorruptionTest, AFrameWithoutChecksumIsRefused) {
  std::string bad = bytes_;
  bad[4] = static_cast<char>(bad[4] & ~0x04);
  ExpectCorrupt(bad);
}

}  // namespace
}  // namespace cellar::artifact
