#include "tasks/cache/artifact_key.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace cellar::taskcache {
namespace {

TEST(ArtifactKeyTest, AcceptsTheServersKeyAlphabetOnly) {
  EXPECT_TRUE(IsValidArtifactHash("abcXYZ019_-"));
  EXPECT_TRUE(IsValidArtifactHash(std::string(128, 'a')));
  EXPECT_FALSE(IsValidArtifactHash(""));
  EXPECT_FALSE(IsValidArtifactHash(std::string(129, 'a')));
  EXPECT_FALSE(IsValidArtifactHash("../etc"));
  EXPECT_FALSE(IsValidArtifactHash("a/b"));
  EXPECT_FALSE(IsValidArtifactHash("a.b"));
  EXPECT_FALSE(IsValidArtifactHash("a b"));
  EXPECT_EQ(CheckArtifactHash("a/b").code(), Code::kInvalidArgument);
  EXPECT_NE(CheckArtifactHash("a/b").message().find("a/b"), std::string::npos);
}

TEST(ArtifactKeyTest, DigestFileGivesSizeAndSha256) {
  std::string path = testing::TempDir() + "/digest_me";
  std::ofstream(path) << "abc";
  Result<FileDigest> d = DigestFile(path);
  ASSERT_TRUE(d.ok()) << d.error().ToString();
  EXPECT_EQ(d->size, 3u);
  EXPECT_EQ(d->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::filesystem::remove(path);
  EXPECT_EQ(DigestFile(path).status().code(), Code::kNotFound);
}

TEST(ArtifactKeyTest, LocalFileErrorsNeverLookLikeRemoteState) {
  EXPECT_EQ(LocalFileError(EACCES, "open x").code(), Code::kInternal);
  EXPECT_EQ(LocalFileError(EIO, "read x").code(), Code::kInternal);
  EXPECT_EQ(LocalFileError(ENOSPC, "write x").code(), Code::kResourceExhausted);
  EXPECT_EQ(LocalFileError(ENOENT, "open x").code(), Code::kNotFound);
}

}  // namespace
}  // namespace cellar::taskcache
