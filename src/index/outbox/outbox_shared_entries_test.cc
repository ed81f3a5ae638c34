// OutboxSharedEntries over MemSharedEntries (the bucket) and a real Outbox
// in a temporary directory, drained by hand on the fake clock: publishes
// are recorded, not sent, until the drainer runs; a manifest waits for its
// blob's upload; withdraws drop pending publishes; a create-only publish
// that lost to another node completes and reports the loss.
#include "index/outbox/outbox_shared_entries.h"

#include <gtest/gtest.h>

#include "index/mem_shared_entries.h"
#include "store/blob_test_util.h"

namespace cellar::index {
namespace {

using std::chrono::seconds;

Entry MakeEntry(const std::string& key, uint8_t digest_byte) {
  Entry e;
  e.ns = "turbo/acme";
  e.key = key;
  e.digest.bytes.fill(digest_byte);
  e.size = 42;
  e.content_type = "application/octet-stream";
  e.created_ms = 1'700'000'000'000;
  e.attributes = R"({"tag":"t"})";
  return e;
}

class OutboxSharedEntriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    outbox_ = std::move(*outbox::Outbox::Open({.dir = dir_.path() + "/outbox"}, clock_));
    entries_ = std::make_unique<OutboxSharedEntries>(bucket_, *outbox_);
    outbox::OutboxDrainer::Options options;
    options.random = [] { return 1.0; };
    drainer_ = std::make_unique<outbox::OutboxDrainer>(*outbox_, clock_, options);
    drainer_->SetHandler(std::string(OutboxSharedEntries::kPublishRecordKind),
                         [this](const outbox::Record& r) { return entries_->DrainPublishRecord(r); });
    drainer_->SetHandler("blob", [this](const outbox::Record& r) {
      log_.push_back("upload " + r.subject);
      return blob_outcome_;
    });
  }
  // The bucket's copy of the entry, or nullopt.
  std::optional<Entry> InBucket(const std::string& key) {
    bucket_.down = false;
    auto found = bucket_.Find("turbo/acme", key);
    EXPECT_TRUE(found.ok());
    return found.ok() ? *found : std::nullopt;
  }

  store::ScopedTempDir dir_;
  env::FakeClock clock_;
  MemSharedEntries bucket_;
  std::unique_ptr<outbox::Outbox> outbox_;
  std::unique_ptr<OutboxSharedEntries> entries_;
  std::unique_ptr<outbox::OutboxDrainer> drainer_;
  std::vector<std::string> log_;
  outbox::Outcome blob_outcome_ = outbox::Outcome::Done();
};

TEST_F(OutboxSharedEntriesTest, PublishIsRecordedAndSentOnlyWhenTheOutboxDrains) {
  const Entry e = MakeEntry("h1", 0xab);
  ASSERT_TRUE(entries_->Publish(e, PutMode::kIfAbsent).ok());
  EXPECT_EQ(bucket_.publishes(), 0);
  EXPECT_EQ(outbox_->size(), 1u);
  // Find answers from the pending record (this node's own entry).
  auto found = entries_->Find(e.ns, e.key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->digest, e.digest);
  EXPECT_EQ(bucket_.finds(), 0);

  EXPECT_EQ(drainer_->RunReady(), 1);
  auto shared = InBucket("h1");
  ASSERT_TRUE(shared);
  EXPECT_EQ(shared->digest, e.digest);
  EXPECT_EQ(shared->attributes, e.attributes);
  EXPECT_EQ(shared->created_ms, e.created_ms);
  EXPECT_EQ(outbox_->size(), 0u);
}

TEST_F(OutboxSharedEntriesTest, ManifestIsPublishedOnlyAfterItsBlobIsUploaded) {
  const Entry e = MakeEntry("h1", 0xcd);
  ASSERT_TRUE(outbox_->Append(outbox::Record{.kind = "blob", .subject = outbox::BlobSubject(e.digest),
                                             .after = {}, .payload = e.digest.Hex()}).ok());
  ASSERT_TRUE(entries_->Publish(e, PutMode::kOverwrite).ok());
  blob_outcome_ = outbox::Outcome::Retry(Status::Unavailable("bucket down"));
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_FALSE(InBucket("h1")) << "a manifest must never name a blob the bucket lacks";
  blob_outcome_ = outbox::Outcome::Done();
  clock_.Advance(seconds(1));
  EXPECT_EQ(drainer_->RunReady(), 2);
  EXPECT_TRUE(InBucket("h1"));
  EXPECT_EQ(log_.size(), 2u);
}

TEST_F(OutboxSharedEntriesTest, LostBlobTakesItsPublishWithIt) {
  const Entry e = MakeEntry("h1", 0xcd);
  ASSERT_TRUE(outbox_->Append(outbox::Record{.kind = "blob", .subject = outbox::BlobSubject(e.digest),
                                             .after = {}, .payload = e.digest.Hex()}).ok());
  ASSERT_TRUE(entries_->Publish(e, PutMode::kOverwrite).ok());
  blob_outcome_ = outbox::Outcome::Lost(Status::NotFound("the local copy is gone"));
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_EQ(outbox_->size(), 0u);
  EXPECT_FALSE(InBucket("h1"));
}

TEST_F(OutboxSharedEntriesTest, PublishIsRetriedWhileTheBucketIsDown) {
  ASSERT_TRUE(entries_->Publish(MakeEntry("h1", 1), PutMode::kOverwrite).ok());
  bucket_.down = true;
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_EQ(outbox_->size(), 1u);
  bucket_.down = false;
  clock_.Advance(seconds(1));
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_TRUE(InBucket("h1"));
}

TEST_F(OutboxSharedEntriesTest, PublishesOfOneKeyLandInTheOrderTheyWereMade) {
  ASSERT_TRUE(entries_->Publish(MakeEntry("k", 1), PutMode::kOverwrite).ok());
  ASSERT_TRUE(entries_->Publish(MakeEntry("k", 2), PutMode::kOverwrite).ok());
  EXPECT_EQ(drainer_->RunReady(), 2);
  EXPECT_EQ(InBucket("k")->digest.bytes[0], 2);
}

TEST_F(OutboxSharedEntriesTest, SecondCreateOnlyPublishOfAPendingKeyLoses) {
  ASSERT_TRUE(entries_->Publish(MakeEntry("h1", 1), PutMode::kIfAbsent).ok());
  EXPECT_EQ(entries_->Publish(MakeEntry("h1", 2), PutMode::kIfAbsent).code(), Code::kAlreadyExists);
  EXPECT_EQ(outbox_->size(), 1u);
}

TEST_F(OutboxSharedEntriesTest, CreateOnlyPublishThatLostCompletesAndReportsOtherBytes) {
  std::vector<Entry> superseded;
  entries_->SetOnSuperseded([&](const Entry& ours) { superseded.push_back(ours); });
  ASSERT_TRUE(bucket_.Publish(MakeEntry("same", 7), PutMode::kIfAbsent).ok());   // another node
  ASSERT_TRUE(bucket_.Publish(MakeEntry("other", 8), PutMode::kIfAbsent).ok());  // another node
  ASSERT_TRUE(entries_->Publish(MakeEntry("same", 7), PutMode::kIfAbsent).ok());
  ASSERT_TRUE(entries_->Publish(MakeEntry("other", 9), PutMode::kIfAbsent).ok());
  EXPECT_EQ(drainer_->RunReady(), 2);
  EXPECT_EQ(outbox_->size(), 0u) << "a lost race completes the record; it is never retried";
  ASSERT_EQ(superseded.size(), 1u);
  EXPECT_EQ(superseded[0].key, "other");
  EXPECT_EQ(superseded[0].digest.bytes[0], 9);
  EXPECT_EQ(InBucket("other")->digest.bytes[0], 8) << "the first writer keeps the key";
}

TEST_F(OutboxSharedEntriesTest, WithdrawDropsPendingPublishes) {
  ASSERT_TRUE(entries_->Publish(MakeEntry("k", 1), PutMode::kOverwrite).ok());
  ASSERT_TRUE(entries_->Publish(MakeEntry("kept", 1), PutMode::kOverwrite).ok());
  ASSERT_TRUE(entries_->Withdraw("turbo/acme", "k").ok());
  EXPECT_EQ(outbox_->size(), 1u);
  auto found = entries_->Find("turbo/acme", "k");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_FALSE(InBucket("k")) << "a withdrawn entry must not be published afterwards";
  EXPECT_TRUE(InBucket("kept"));
}

TEST_F(OutboxSharedEntriesTest, WithdrawWhileTheBucketIsDownFailsAndKeepsThePublish) {
  ASSERT_TRUE(entries_->Publish(MakeEntry("k", 1), PutMode::kOverwrite).ok());
  bucket_.down = true;
  EXPECT_EQ(entries_->Withdraw("turbo/acme", "k").code(), Code::kUnavailable);
  EXPECT_EQ(outbox_->size(), 1u);
}

TEST(PublishPayloadTest, RoundTripsAnyKeyAndRejectsDamage) {
  Entry e = MakeEntry(std::string("a/b\n c\0d", 8), 3);
  e.ns = "bazel/ac";
  auto back = DecodePublishPayload(EncodePublishPayload(e, PutMode::kIfAbsent));
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->first.key, e.key);
  EXPECT_EQ(back->first.ns, e.ns);
  EXPECT_EQ(back->first.digest, e.digest);
  EXPECT_EQ(back->first.size, e.size);
  EXPECT_EQ(back->second, PutMode::kIfAbsent);
  EXPECT_EQ(DecodePublishPayload("v 1\n2\n").error().code(), Code::kCorruption);
  EXPECT_EQ(DecodePublishPayload("garbage").error().code(), Code::kCorruption);
  EXPECT_NE(EntrySubject("a/b", "c"), EntrySubject("a", "b/c"));
}

}  // namespace
}  // namespace cellar::index
