#include "tasks/cache/fake_remote_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace cellar::taskcache {
namespace {

TEST(FakeRemoteCacheTest, BehavesLikeAFirstWriteWinsRemote) {
  FakeRemoteCache fake;
  const std::string file = testing::TempDir() + "/fake_remote_" + std::to_string(::getpid());
  std::ofstream(file) << "built";
  EXPECT_FALSE(*fake.LookupBatch({"h"}).at(0));
  EXPECT_EQ(*fake.Upload("h", file), UploadOutcome::kStored);
  EXPECT_EQ(*fake.Upload("h", file), UploadOutcome::kSkipped);
  EXPECT_EQ(fake.Get("h"), "built");
  RemoteLookup hit = fake.LookupBatch({"h", "bad/"}).at(0);
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_EQ(fake.LookupBatch({"bad/"}).at(0).status().code(), Code::kInvalidArgument);
  Result<std::optional<FileDigest>> got = fake.Download(**hit, file + ".dl", DigestFile(file).value());
  ASSERT_TRUE(got.ok() && *got);
  std::stringstream s;
  s << std::ifstream(file + ".dl").rdbuf();
  EXPECT_EQ(s.str(), "built");
  EXPECT_EQ(fake.Download(**hit, file + ".dl", FileDigest{1, ""}).status().code(), Code::kCorruption);
  EXPECT_FALSE(std::filesystem::exists(file + ".dl"));
  EXPECT_EQ(fake.lookup_calls(), 3);
  EXPECT_EQ(fake.uploaded(), (std::vector<std::string>{"h", "h"}));
  EXPECT_EQ(fake.downloaded(), std::vector<std::string>{"h"});
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace cellar::taskcache
