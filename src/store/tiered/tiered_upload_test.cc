// TieredBlobStore with asynchronous uploads: an FsBlobStore local tier in a
// temporary directory, the real S3BlobStore on the in-memory FakeS3Client,
// an Outbox in the same directory and an OutboxDrainer run by hand on the
// fake clock. Commits are acknowledged before any request, uploads happen
// when the outbox drains, retried while the remote fails, resumed after a
// restart; a pending blob cannot be removed; a lost local copy is reported.
#include <gtest/gtest.h>

#include <fstream>

#include "env/clock.h"
#include "store/blob_test_util.h"
#include "store/fs_blob_store.h"
#include "store/outbox/outbox_drainer.h"
#include "store/s3/fake_s3_client.h"
#include "store/s3/s3_blob_store.h"
#include "store/tiered/tiered_blob_store.h"

namespace cellar::store {
namespace {

using s3::S3Op;
using std::chrono::seconds;

class TieredUploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FsBlobStore::Options fs;
    fs.root = dir_.path() + "/local";
    fs.compress = false;
    local_ = std::move(*FsBlobStore::Open(fs));
    s3::S3BlobStoreOptions remote_options;
    remote_options.spool_dir = dir_.path();
    remote_ = std::make_unique<s3::S3BlobStore>(s3_, clock_, remote_options);
    Restart();
  }

  // A new outbox, tiered store and drainer over the same directories, as
  // after a restart of the server.
  void Restart() {
    drainer_.reset();
    tiered_.reset();
    outbox_.reset();
    auto opened = outbox::Outbox::Open({.dir = dir_.path() + "/outbox"}, clock_);
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    outbox_ = std::move(*opened);
    tiered_ = std::make_unique<TieredBlobStore>(*local_, *remote_, TieredBlobStore::Options{.outbox = outbox_.get()});
    outbox::OutboxDrainer::Options options;
    options.registry = &registry_;
    options.random = [] { return 1.0; };
    drainer_ = std::make_unique<outbox::OutboxDrainer>(*outbox_, clock_, options);
    drainer_->SetHandler(std::string(TieredBlobStore::kBlobRecordKind),
                         [this](const outbox::Record& r) { return tiered_->DrainBlobRecord(r); });
  }

  bool InRemote(const Digest& d) { return s3_.ObjectForTest(remote_->KeyFor(d)).has_value(); }
  bool InLocal(const Digest& d) {
    auto stat = local_->Stat(d);
    return stat.ok() && stat->has_value();
  }
  uint64_t Lost() {
    const std::string series = "cellar_outbox_records_total{kind=\"blob\",result=\"lost\"} ";
    const std::string text = registry_.RenderText();
    size_t at = text.find(series);
    return at == std::string::npos ? 0 : std::stoull(text.substr(at + series.size()));
  }

  ScopedTempDir dir_;
  env::FakeClock clock_;
  s3::FakeS3Client s3_{clock_};
  metrics::Registry registry_;
  std::unique_ptr<FsBlobStore> local_;
  std::unique_ptr<s3::S3BlobStore> remote_;
  std::unique_ptr<outbox::Outbox> outbox_;
  std::unique_ptr<TieredBlobStore> tiered_;
  std::unique_ptr<outbox::OutboxDrainer> drainer_;
};

TEST_F(TieredUploadTest, CommitIsAcknowledgedFromTheLocalTierBeforeAnyRequest) {
  const Bytes data = MakeContent(100000, Content::kRandom);
  Result<BlobInfo> info = WriteBlob(*tiered_, data);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(s3_.Calls().empty()) << "no request before the outbox drains";
  EXPECT_TRUE(InLocal(info->digest));
  EXPECT_EQ(outbox_->size(), 1u);
  EXPECT_TRUE(tiered_->Pinned(info->digest));
  // Reads are local hits meanwhile.
  auto back = ReadBlob(*tiered_, info->digest);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_TRUE(**back == data);
}

TEST_F(TieredUploadTest, DrainingUploadsTheBlobAndUnpinsIt) {
  const Bytes data = MakeContent(100000, Content::kRandom);
  Result<BlobInfo> info = WriteBlob(*tiered_, data);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_TRUE(InRemote(info->digest));
  EXPECT_EQ(*s3_.ObjectForTest(remote_->KeyFor(info->digest)),
            std::string(reinterpret_cast<const char*>(data.data()), data.size()));
  EXPECT_EQ(outbox_->size(), 0u);
  EXPECT_FALSE(tiered_->Pinned(info->digest));
  EXPECT_TRUE(InLocal(info->digest)) << "the local tier keeps its copy";
}

TEST_F(TieredUploadTest, ABlobTheRemoteHoldsCostsOneHeadAndNoUpload) {
  const Bytes data = MakeContent(5000, Content::kRandom);
  ASSERT_TRUE(WriteBlob(*remote_, data).ok());
  s3_.ClearCalls();
  ASSERT_TRUE(WriteBlob(*tiered_, data).ok());
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_EQ(s3_.Calls().size(), 1u);
  EXPECT_EQ(s3_.CountCalls(S3Op::kHead), 1u);
}

TEST_F(TieredUploadTest, UploadIsRetriedWhileTheRemoteFailsThenSucceeds) {
  const Bytes data = MakeContent(3000, Content::kText);
  Result<BlobInfo> info = WriteBlob(*tiered_, data);
  ASSERT_TRUE(info.ok());
  s3_.FailNext(S3Op::kHead, Status::Unavailable("connect to 127.0.0.1:9 failed"), 2);
  s3_.FailNext(S3Op::kPut, Status::Unavailable("503 SlowDown"), 1);
  EXPECT_EQ(drainer_->RunReady(), 1);  // HEAD fails
  clock_.Advance(seconds(1));
  EXPECT_EQ(drainer_->RunReady(), 1);  // HEAD fails
  clock_.Advance(seconds(2));
  EXPECT_EQ(drainer_->RunReady(), 1);  // PUT fails
  EXPECT_FALSE(InRemote(info->digest));
  EXPECT_TRUE(tiered_->Pinned(info->digest));
  clock_.Advance(seconds(4));
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_TRUE(InRemote(info->digest));
  EXPECT_EQ(outbox_->size(), 0u);
}

TEST_F(TieredUploadTest, PendingBlobCannotBeRemovedUntilItIsUploaded) {
  const Bytes data = MakeContent(20000, Content::kText);
  Result<BlobInfo> info = WriteBlob(*tiered_, data);
  ASSERT_TRUE(info.ok());
  Status removed = tiered_->Remove(info->digest);
  EXPECT_EQ(removed.code(), Code::kUnavailable) << removed.ToString();
  EXPECT_TRUE(InLocal(info->digest));
  ASSERT_EQ(drainer_->RunReady(), 1);
  ASSERT_TRUE(tiered_->Remove(info->digest).ok());
  EXPECT_FALSE(InLocal(info->digest));
  // Freed locally, still in the bucket: it reads through again.
  auto back = ReadBlob(*tiered_, info->digest);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_TRUE(**back == data);
}

TEST_F(TieredUploadTest, RecordsLeftByAPreviousRunAreUploadedAfterARestart) {
  const Bytes data = MakeContent(40000, Content::kRandom);
  Result<BlobInfo> info = WriteBlob(*tiered_, data);
  ASSERT_TRUE(info.ok());
  Restart();  // nothing drained before the "crash"
  EXPECT_EQ(outbox_->size(), 1u);
  EXPECT_TRUE(tiered_->Pinned(info->digest)) << "the pin survives the restart";
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_TRUE(InRemote(info->digest));
}

TEST_F(TieredUploadTest, ALocalCopyThatVanishedIsReportedLostNotRetriedForever) {
  const Bytes data = MakeContent(1000, Content::kText);
  Result<BlobInfo> info = WriteBlob(*tiered_, data);
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(local_->Remove(info->digest).ok());  // behind the tiered store's back
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_EQ(outbox_->size(), 0u);
  EXPECT_EQ(Lost(), 1u);
  EXPECT_FALSE(InRemote(info->digest));
}

TEST_F(TieredUploadTest, ADamagedLocalCopyIsQuarantinedAndReportedLost) {
  const Bytes data = MakeContent(60000, Content::kRandom);
  Result<BlobInfo> info = WriteBlob(*tiered_, data);
  ASSERT_TRUE(info.ok());
  {
    std::fstream f(local_->BlobPath(info->digest), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-100, std::ios::end);
    f.put('\x5a');
  }
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_EQ(Lost(), 1u);
  EXPECT_FALSE(InRemote(info->digest)) << "damaged bytes are never uploaded";
  EXPECT_FALSE(InLocal(info->digest)) << "the damaged copy is out of service";
}

}  // namespace
}  // namespace cellar::store
