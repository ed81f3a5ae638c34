#include "index/s3/s3_shared_entries.h"

#include <gtest/gtest.h>

#include "env/clock.h"
#include "store/s3/fake_s3_client.h"

namespace cellar::index {
namespace {

Entry MakeEntry(std::string ns, std::string key) {
  Entry e;
  e.ns = std::move(ns);
  e.key = std::move(key);
  e.digest.bytes.fill(0xab);
  e.size = 1234;
  e.content_type = "application/gzip";
  e.created_ms = 1'700'000'000'123;
  e.attributes = R"({"tag":"x","durationMs":12})";
  return e;
}

class S3SharedEntriesTest : public ::testing::Test {
 protected:
  env::FakeClock clock_;
  s3::FakeS3Client client_{clock_};
  S3SharedEntries entries_{client_, "/team/cache/"};
};

TEST_F(S3SharedEntriesTest, PublishedEntryIsFoundWithItsSharedFields) {
  Entry e = MakeEntry("npm/tarballs", "@scope/pkg/-/pkg-1.0.0.tgz");
  e.hits = 7;
  e.last_access_ms = 99;
  ASSERT_TRUE(entries_.Publish(e, PutMode::kOverwrite).ok());
  auto found = entries_.Find(e.ns, e.key);
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  ASSERT_TRUE(found->has_value());
  const Entry& got = **found;
  EXPECT_EQ(got.ns, e.ns);
  EXPECT_EQ(got.key, e.key);
  EXPECT_EQ(got.digest, e.digest);
  EXPECT_EQ(got.size, e.size);
  EXPECT_EQ(got.content_type, e.content_type);
  EXPECT_EQ(got.created_ms, e.created_ms);
  EXPECT_EQ(got.attributes, e.attributes);
  EXPECT_EQ(got.hits, 0u);  // per-node
  EXPECT_EQ(got.last_access_ms, 0);
}

TEST_F(S3SharedEntriesTest, AMutableDocumentKeepsItsFetchTimeAndMaxAge) {
  Entry e = MakeEntry("npm/upstream", "full:left-pad");
  e.max_age_ms = 300'000;
  e.fetched_at_ms = 1'700'000'000'999;
  ASSERT_TRUE(entries_.Publish(e, PutMode::kOverwrite).ok());
  auto found = entries_.Find(e.ns, e.key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->max_age_ms, 300'000);
  EXPECT_EQ((*found)->fetched_at_ms, 1'700'000'000'999);
  // An immutable entry's manifest carries neither.
  Entry immutable = MakeEntry("turbo/t", "abc");
  immutable.fetched_at_ms = 5;
  EXPECT_EQ(EncodeManifest(immutable).find("fetched_ms"), std::string::npos);
  // Half of the pair, or a non-positive max age, is a damaged manifest.
  std::string half = EncodeManifest(e);
  const size_t at = half.find("\"fetched_ms\":");
  ASSERT_NE(at, std::string::npos);
  half.erase(at, half.find(',', at) - at + 1);
  ASSERT_EQ(half.find("fetched_ms"), std::string::npos);
  ASSERT_NE(half.find("\"key\""), std::string::npos);
  EXPECT_EQ(DecodeManifest(half).status().code(), Code::kCorruption) << half;
}

TEST_F(S3SharedEntriesTest, AbsentEntryIsAMiss) {
  auto found = entries_.Find("turbo/t", "abc");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST_F(S3SharedEntriesTest, ObjectKeysAreShortAndSafeForAnyKey) {
  const std::string long_key(1000, 'k');
  for (const std::string& key : {std::string("golang.org/x/mod/@v/v0.1.0.zip"), std::string("a%2Fb@c d"),
                                 std::string(".."), long_key}) {
    std::string object = entries_.ObjectKey("go/mod", key);
    EXPECT_EQ(object.rfind("team/cache/entries/go%2Fmod/", 0), 0u) << object;
    EXPECT_EQ(object.size(), std::string("team/cache/entries/go%2Fmod/").size() + 64) << object;
    ASSERT_TRUE(entries_.Publish(MakeEntry("go/mod", key), PutMode::kOverwrite).ok());
    auto found = entries_.Find("go/mod", key);
    ASSERT_TRUE(found.ok() && found->has_value());
    EXPECT_EQ((*found)->key, key);
  }
  EXPECT_NE(entries_.ObjectKey("a", "k"), entries_.ObjectKey("b", "k"));
  EXPECT_NE(entries_.ObjectKey("a", "k"), entries_.ObjectKey("a", "K"));
  EXPECT_LT(entries_.ObjectKey(std::string(600, '/'), "k").size(), 300u);
}

TEST_F(S3SharedEntriesTest, CreateOnlyPublishLosesToTheFirstWriter) {
  Entry first = MakeEntry("turbo/t", "h1");
  Entry second = first;
  second.digest.bytes.fill(0x01);
  ASSERT_TRUE(entries_.Publish(first, PutMode::kIfAbsent).ok());
  Status s = entries_.Publish(second, PutMode::kIfAbsent);
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_EQ((*entries_.Find("turbo/t", "h1"))->digest, first.digest);
}

TEST_F(S3SharedEntriesTest, WithdrawRemovesTheEntry) {
  Entry e = MakeEntry("ccache/t", "k");
  ASSERT_TRUE(entries_.Publish(e, PutMode::kOverwrite).ok());
  ASSERT_TRUE(entries_.Withdraw(e.ns, e.key).ok());
  EXPECT_FALSE(entries_.Find(e.ns, e.key)->has_value());
  EXPECT_TRUE(entries_.Withdraw(e.ns, e.key).ok());  // absent is fine
}

TEST_F(S3SharedEntriesTest, UnreachableBucketIsUnavailable) {
  client_.FailNext(s3::S3Op::kGet, Status::Unavailable("connection refused"));
  auto found = entries_.Find("turbo/t", "h");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code(), Code::kUnavailable);
  client_.FailNext(s3::S3Op::kPut, Status::Unavailable("connection refused"));
  EXPECT_EQ(entries_.Publish(MakeEntry("turbo/t", "h"), PutMode::kOverwrite).code(), Code::kUnavailable);
}

TEST_F(S3SharedEntriesTest, DamagedOrForeignManifestIsCorruption) {
  const std::string object = entries_.ObjectKey("turbo/t", "h");
  client_.SetObjectForTest(object, "not json");
  EXPECT_EQ(entries_.Find("turbo/t", "h").error().code(), Code::kCorruption);
  // A manifest for another key under this name (a hash collision or a copy).
  client_.SetObjectForTest(object, EncodeManifest(MakeEntry("turbo/t", "other")));
  EXPECT_EQ(entries_.Find("turbo/t", "h").error().code(), Code::kCorruption);
}

TEST(ManifestTest, DecodeRejectsMissingOrMistypedFields) {
  std::string good = EncodeManifest(MakeEntry("n", "k"));
  ASSERT_TRUE(DecodeManifest(good).ok());
  EXPECT_FALSE(DecodeManifest(R"({"v":2})").ok());
  EXPECT_FALSE(DecodeManifest(R"({"v":1,"ns":"n","key":"k","digest":"zz","size":1,"content_type":"",)"
                              R"("created_ms":0,"attributes":"{}"})")
                   .ok());
  EXPECT_FALSE(DecodeManifest(R"({"v":1,"ns":"n","key":"k","digest":")" + std::string(64, 'a') +
                              R"(","size":-1,"content_type":"","created_ms":0,"attributes":"{}"})")
                   .ok());
}

}  // namespace
}  // namespace cellar::index
