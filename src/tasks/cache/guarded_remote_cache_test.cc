#include "tasks/cache/guarded_remote_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tasks/cache/fake_remote_cache.h"

namespace cellar::taskcache {
namespace {

class GuardedRemoteCacheTest : public testing::Test {
 protected:
  GuardedRemoteCacheTest()
      : guarded_(fake_, [this](const Status& s) { warnings_.push_back(s.message()); }) {}
  void SetUp() override {
    file_ = testing::TempDir() + "/guarded_" + std::to_string(::getpid());
    std::ofstream(file_) << "artifact";
  }
  void TearDown() override { std::filesystem::remove(file_); }

  FakeRemoteCache fake_;
  std::vector<std::string> warnings_;
  GuardedRemoteCache guarded_;
  std::string file_;
};

TEST_F(GuardedRemoteCacheTest, ADownServerIsReportedOnceAndThenLeftAlone) {
  fake_.SetDown(Status::Unavailable("remote cache http://c:1 unreachable: Couldn't connect to server"));
  std::vector<RemoteLookup> got = guarded_.LookupBatch({"a", "b", "c"});
  for (const RemoteLookup& r : got) EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_FALSE(guarded_.enabled());
  EXPECT_FALSE(guarded_.uploads_enabled());
  // Later calls fail at once without reaching the remote, and warn no more.
  EXPECT_EQ(guarded_.LookupBatch({"d"}).at(0).status().code(), Code::kUnavailable);
  EXPECT_EQ(guarded_.Upload("a", file_).status().code(), Code::kUnavailable);
  EXPECT_EQ(guarded_.Download(RemoteArtifact{"a", "fake:a", {}}, file_ + ".dl").status().code(),
            Code::kUnavailable);
  EXPECT_EQ(fake_.lookup_calls(), 1);
  EXPECT_TRUE(fake_.uploaded().empty());
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("unreachable"), std::string::npos);
}

TEST_F(GuardedRemoteCacheTest, AReadOnlyTokenStopsUploadsButKeepsHits) {
  fake_.Put("hit", "bytes");
  fake_.SetUploadError(Status::PermissionDenied("token lacks write scope: uploads disabled"));
  EXPECT_EQ(guarded_.Upload("new1", file_).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(guarded_.Upload("new2", file_).status().code(), Code::kPermissionDenied);
  EXPECT_FALSE(guarded_.uploads_enabled());
  EXPECT_TRUE(guarded_.enabled());
  RemoteLookup hit = guarded_.LookupBatch({"hit"}).at(0);
  ASSERT_TRUE(hit.ok() && *hit);
  Result<std::optional<FileDigest>> dl = guarded_.Download(**hit, file_ + ".dl");
  ASSERT_TRUE(dl.ok() && *dl);
  EXPECT_EQ(warnings_, std::vector<std::string>{"token lacks write scope: uploads disabled"});
  std::filesystem::remove(file_ + ".dl");
}

TEST_F(GuardedRemoteCacheTest, PerArtifactFailuresKeepTheRemoteOn) {
  fake_.Put("h", "bytes");
  fake_.FailNextDownload("h", Status::DeadlineExceeded("download of fake:h timed out"));
  RemoteArtifact a{"h", "fake:h", {}};
  EXPECT_EQ(guarded_.Download(a, file_ + ".dl").status().code(), Code::kDeadlineExceeded);
  EXPECT_FALSE(std::filesystem::exists(file_ + ".dl"));
  EXPECT_TRUE(guarded_.enabled());
  EXPECT_TRUE(warnings_.empty());
  ASSERT_TRUE(guarded_.Download(a, file_ + ".dl").ok());
  std::filesystem::remove(file_ + ".dl");
}

TEST_F(GuardedRemoteCacheTest, ConcurrentFailuresWarnOnce) {
  fake_.SetDown(Status::Unauthenticated("remote cache http://c:1 refused the token (401)"));
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back([&] { (void)guarded_.LookupBatch({"x"}); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(warnings_.size(), 1u);
  EXPECT_FALSE(guarded_.enabled());
}

}  // namespace
}  // namespace cellar::taskcache
