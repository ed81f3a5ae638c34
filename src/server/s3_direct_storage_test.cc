// S3DirectStorage over the in-memory S3 client: where staging objects live,
// what a staging PUT signs, when a blob download is presigned, and the
// sweep of staged uploads never committed. That RGW enforces the signed
// headers is checked against the real server (s3_rgw_test,
// it_negotiate_presigned).
#include "server/s3_direct_storage.h"

#include <gtest/gtest.h>

#include "env/clock.h"
#include "store/s3/fake_s3_client.h"

namespace cellar::server {
namespace {

class S3DirectStorageTest : public testing::Test {
 protected:
  S3DirectStorageTest() : client_(clock_), blobs_(client_, clock_, BlobOptions()), direct_(client_, Config(), blobs_, clock_) {}
  static s3::S3BlobStoreOptions BlobOptions() {
    s3::S3BlobStoreOptions o;
    o.prefix = "team/cache";
    return o;
  }
  static const s3::S3Config& Config() {
    static const s3::S3Config config = [] {
      s3::S3Config c;
      c.endpoint = "http://127.0.0.1:7480";
      c.bucket = "bkt";
      c.prefix = "/team/cache/";
      c.credentials = {"AKID", "SECRET", ""};
      return c;
    }();
    return config;
  }
  Status Put(const std::string& key, std::string data) {
    s3::StringBody body(std::move(data));
    return client_.PutObject(key, body, {});
  }
  static Digest SomeDigest() { return *Digest::FromHex(std::string(64, 'a')); }

  env::FakeClock clock_;
  s3::FakeS3Client client_;
  s3::S3BlobStore blobs_;
  S3DirectStorage direct_;
};

TEST_F(S3DirectStorageTest, StagingPutSignsSizeAndDigest) {
  EXPECT_EQ(direct_.StagingKey("artifacts/ns/h1/id"), "team/cache/staging/artifacts/ns/h1/id");
  const std::string sha(64, 'b');
  auto put = direct_.PresignStagingPut("artifacts/h1/id", 42, sha, 1'700'000'000, std::chrono::seconds(60));
  ASSERT_TRUE(put.ok());
  EXPECT_TRUE(put->url.starts_with("http://127.0.0.1:7480/bkt/team/cache/staging/artifacts/h1/id?")) << put->url;
  EXPECT_NE(put->url.find("X-Amz-SignedHeaders=content-length%3Bhost%3Bx-amz-content-sha256"), std::string::npos)
      << put->url;
  EXPECT_NE(put->url.find("X-Amz-Expires=60"), std::string::npos);
  ASSERT_EQ(put->headers.size(), 1u);
  EXPECT_EQ(put->headers[0], std::make_pair(std::string("x-amz-content-sha256"), sha));
  // Without a declared digest only the size is pinned, and nothing is to add.
  auto size_only = direct_.PresignStagingPut("artifacts/h1/id", 42, std::nullopt, 1'700'000'000,
                                             std::chrono::seconds(60));
  ASSERT_TRUE(size_only.ok());
  EXPECT_NE(size_only->url.find("X-Amz-SignedHeaders=content-length%3Bhost&"), std::string::npos) << size_only->url;
  EXPECT_TRUE(size_only->headers.empty());
  EXPECT_EQ(client_.Calls().size(), 0u);  // presigning is offline
}

TEST_F(S3DirectStorageTest, BlobGetIsPresignedOnlyWhenTheBucketHoldsTheBlobWhole) {
  const Digest d = SomeDigest();
  auto absent = direct_.PresignBlobGet(d, 5, 1'700'000'000, std::chrono::seconds(60));
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  ASSERT_TRUE(Put(blobs_.KeyFor(d), "12345").ok());
  client_.FailNext(s3::S3Op::kHead, Status::Unavailable("down"));
  EXPECT_FALSE(direct_.PresignBlobGet(d, 5, 1'700'000'000, std::chrono::seconds(60)).ok());
  auto damaged = direct_.PresignBlobGet(d, 6, 1'700'000'000, std::chrono::seconds(60));
  ASSERT_TRUE(damaged.ok());
  EXPECT_FALSE(damaged->has_value());
  auto get = direct_.PresignBlobGet(d, 5, 1'700'000'000, std::chrono::seconds(60));
  ASSERT_TRUE(get.ok() && get->has_value());
  EXPECT_TRUE((*get)->url.starts_with("http://127.0.0.1:7480/bkt/team/cache/blobs/" + d.Hex() + "?")) << (*get)->url;
}

TEST_F(S3DirectStorageTest, ABlobThisNodeWroteOrSawRecentlyIsPresignedWithoutAHead) {
  const std::string data = "artifact bytes";
  auto writer = blobs_.NewWriter();
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(std::as_bytes(std::span(data.data(), data.size()))).ok());
  auto info = (*writer)->Commit(std::nullopt);
  ASSERT_TRUE(info.ok());
  client_.ClearCalls();
  auto presign = [&](uint64_t size) { return direct_.PresignBlobGet(info->digest, size, 1'700'000'000, std::chrono::seconds(60)); };
  auto get = presign(data.size());
  ASSERT_TRUE(get.ok() && get->has_value());
  EXPECT_TRUE(client_.Calls().empty()) << "written by this node: no HEAD";
  // Another size than the one written is asked about (and is not whole).
  EXPECT_FALSE(presign(data.size() + 1)->has_value());
  EXPECT_EQ(client_.CountCalls(s3::S3Op::kHead), 1u);
  // Knowledge expires: the bucket is shared, and can lose a blob.
  clock_.Advance(std::chrono::minutes(11));
  ASSERT_TRUE(presign(data.size())->has_value());
  EXPECT_EQ(client_.CountCalls(s3::S3Op::kHead), 2u);
  ASSERT_TRUE(presign(data.size())->has_value());  // the HEAD renewed it
  EXPECT_EQ(client_.CountCalls(s3::S3Op::kHead), 2u);
  // Removed through this store: asked again, and absent.
  ASSERT_TRUE(blobs_.Remove(info->digest).ok());
  EXPECT_FALSE(presign(data.size())->has_value());
  EXPECT_EQ(client_.CountCalls(s3::S3Op::kHead), 3u);
}

TEST_F(S3DirectStorageTest, StagedObjectsAreReadRemovedAndSweptWhenStale) {
  ASSERT_TRUE(Put(direct_.StagingKey("artifacts/old/1"), "old bytes").ok());
  ASSERT_TRUE(Put(blobs_.KeyFor(SomeDigest()), "a blob").ok());
  clock_.Advance(std::chrono::hours(25));
  ASSERT_TRUE(Put(direct_.StagingKey("artifacts/new/2"), "new bytes").ok());

  auto staged = direct_.OpenStaged("artifacts/new/2");
  ASSERT_TRUE(staged.ok() && staged->has_value());
  EXPECT_EQ((**staged)->size(), 9u);
  std::string got(9, '\0');
  auto n = (**staged)->Read(std::as_writable_bytes(std::span(got.data(), got.size())));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(got.substr(0, *n), std::string("new bytes").substr(0, *n));
  EXPECT_FALSE(direct_.OpenStaged("artifacts/none/3")->has_value());

  auto swept = direct_.RemoveStaleStaged(std::chrono::hours(24));
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 1);
  EXPECT_FALSE(direct_.OpenStaged("artifacts/old/1")->has_value());
  EXPECT_TRUE(direct_.OpenStaged("artifacts/new/2")->has_value());
  EXPECT_TRUE(client_.HeadObject(blobs_.KeyFor(SomeDigest()))->has_value());  // blobs are never swept
  ASSERT_TRUE(direct_.RemoveStaged("artifacts/new/2").ok());
  EXPECT_FALSE(direct_.OpenStaged("artifacts/new/2")->has_value());
  EXPECT_TRUE(direct_.RemoveStaged("artifacts/new/2").ok());  // absent is fine
}

}  // namespace
}  // namespace cellar::server
