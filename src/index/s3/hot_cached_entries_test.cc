// HotCachedEntries over the in-memory bucket and in-memory copies: which
// lookups reach the bucket, and that the copies never decide alone.
#include "index/s3/hot_cached_entries.h"

#include <gtest/gtest.h>

#include <vector>

#include "env/clock.h"
#include "store/s3/fake_s3_client.h"

namespace cellar::index {
namespace {

using Lookup = HotCachedEntries::Lookup;

Entry MakeEntry(const std::string& key) {
  Entry e;
  e.ns = "turbo/t";
  e.key = key;
  e.digest.bytes.fill(0x5a);
  e.size = 42;
  e.created_ms = 1'700'000'000'000;
  e.attributes = "{}";
  return e;
}

class HotCachedEntriesTest : public ::testing::Test {
 protected:
  size_t BucketGets() const { return client_.CountCalls(s3::S3Op::kGet); }

  env::FakeClock clock_;
  s3::FakeS3Client client_{clock_};
  S3SharedEntries bucket_{client_, "c"};
  MemHotEntries hot_;
  std::vector<Lookup> lookups_;
  // Two nodes: each its own decorator over the same bucket and copies.
  HotCachedEntries writer_{bucket_, hot_, [this](Lookup l) { lookups_.push_back(l); }};
  HotCachedEntries reader_{bucket_, hot_, [this](Lookup l) { lookups_.push_back(l); }};
};

TEST_F(HotCachedEntriesTest, AnEntryOneNodePublishedIsFoundByAnotherWithoutTheBucket) {
  const Entry e = MakeEntry("abc");
  ASSERT_TRUE(writer_.Publish(e, PutMode::kIfAbsent).ok());
  const size_t gets = BucketGets();
  auto found = reader_.Find(e.ns, e.key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->digest, e.digest);
  EXPECT_EQ((*found)->size, 42u);
  EXPECT_EQ(BucketGets(), gets);
  EXPECT_EQ(lookups_, std::vector<Lookup>{Lookup::kHot});
}

TEST_F(HotCachedEntriesTest, AManifestReadFromTheBucketLeavesACopyAndAbsenceLeavesNone) {
  const Entry e = MakeEntry("abc");
  ASSERT_TRUE(bucket_.Publish(e, PutMode::kIfAbsent).ok());  // e.g. before the fleet had Redis
  ASSERT_TRUE(reader_.Find(e.ns, e.key)->has_value());
  const size_t gets = BucketGets();
  ASSERT_TRUE(reader_.Find(e.ns, e.key)->has_value());
  EXPECT_EQ(BucketGets(), gets);
  EXPECT_FALSE(reader_.Find(e.ns, "nobody-wrote-this")->has_value());
  EXPECT_EQ(hot_.CopiesForTest().size(), 1u);  // a miss is never cached here: a writer may come any moment
  EXPECT_EQ(lookups_, (std::vector<Lookup>{Lookup::kCold, Lookup::kHot, Lookup::kCold}));
}

TEST_F(HotCachedEntriesTest, ARefusedPublishLeavesTheWinnersCopy) {
  Entry first = MakeEntry("abc");
  ASSERT_TRUE(writer_.Publish(first, PutMode::kIfAbsent).ok());
  Entry second = first;
  second.digest.bytes.fill(0x77);
  EXPECT_EQ(reader_.Publish(second, PutMode::kIfAbsent).code(), Code::kAlreadyExists);
  EXPECT_EQ((*reader_.Find(first.ns, first.key))->digest, first.digest);
}

TEST_F(HotCachedEntriesTest, DamagedOrMisplacedCopiesAreDroppedAndTheBucketDecides) {
  const Entry e = MakeEntry("abc");
  ASSERT_TRUE(writer_.Publish(e, PutMode::kIfAbsent).ok());
  const std::string object_key = bucket_.ObjectKey(e.ns, e.key);
  hot_.SetCopyForTest(object_key, "{not a manifest");
  auto found = reader_.Find(e.ns, e.key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->digest, e.digest);
  // A copy that names another key (say, a hash collision in the object key
  // scheme, or a bad write) is not believed either.
  hot_.SetCopyForTest(object_key, EncodeManifest(MakeEntry("other")));
  found = reader_.Find(e.ns, e.key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->key, "abc");
  EXPECT_EQ(hot_.CopiesForTest().at(object_key), EncodeManifest(e));
}

TEST_F(HotCachedEntriesTest, WithTheCopiesDownEveryCallGoesToTheBucketAndSucceeds) {
  hot_.SetUnavailable(true);
  const Entry e = MakeEntry("abc");
  ASSERT_TRUE(writer_.Publish(e, PutMode::kIfAbsent).ok());
  auto found = reader_.Find(e.ns, e.key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(lookups_, std::vector<Lookup>{Lookup::kHotUnavailable});
  ASSERT_TRUE(writer_.Withdraw(e.ns, e.key).ok());
  EXPECT_FALSE(reader_.Find(e.ns, e.key)->has_value());
}

TEST_F(HotCachedEntriesTest, WithdrawDropsTheCopy) {
  const Entry e = MakeEntry("abc");
  ASSERT_TRUE(writer_.Publish(e, PutMode::kIfAbsent).ok());
  ASSERT_TRUE(writer_.Withdraw(e.ns, e.key).ok());
  EXPECT_TRUE(hot_.CopiesForTest().empty());
  EXPECT_FALSE(reader_.Find(e.ns, e.key)->has_value());
}

TEST_F(HotCachedEntriesTest, BucketErrorsReachTheCaller) {
  client_.FailNext(s3::S3Op::kGet, Status::Unavailable("bucket down"));
  auto found = reader_.Find("turbo/t", "abc");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace cellar::index
