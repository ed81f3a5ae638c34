// `--s3-upload=async` assembled as S3Storage and App assemble it, on the
// in-memory FakeS3Client: node A (async: FsBlobStore + Outbox + tiered store +
// OutboxSharedEntries + SqliteIndex, its drainer run by hand) and node B
// (write-through, an empty data dir) on one bucket. Checks the whole chain:
// a PUT makes no request until the outbox drains, the blob reaches the
// bucket before its manifest, a restart resumes, a deleted entry's blob is
// kept until uploaded, and a create-only publish that lost to B makes A
// serve B's artifact.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/cache_metrics.h"
#include "core/cache_service.h"
#include "core/cache_test_util.h"
#include "index/outbox/outbox_shared_entries.h"
#include "index/s3/s3_shared_entries.h"
#include "index/sqlite_index.h"
#include "store/blob_test_util.h"
#include "store/fs_blob_store.h"
#include "store/outbox/outbox.h"
#include "store/outbox/outbox_drainer.h"
#include "store/s3/fake_s3_client.h"
#include "store/s3/s3_blob_store.h"
#include "store/tiered/tiered_blob_store.h"

namespace cellar::server {
namespace {

using std::chrono::seconds;

constexpr char kNs[] = "turbo/acme";

// One node's data dir and what stands on it. With `async`, the outbox and
// its drainer as S3Storage wires them.
struct Node {
  Node(const std::string& dir, bool async, env::FakeClock& clock, s3::S3BlobStore& remote,
       index::SharedEntries& bucket_entries)
      : metrics(registry) {
    store::FsBlobStore::Options fs;
    fs.root = dir;
    local = std::move(*store::FsBlobStore::Open(fs));
    index::SqliteIndex::Options index_options;
    index_options.now_ms = [&clock] { return clock.NowUnixMs(); };
    index = std::move(*index::SqliteIndex::Open(dir + "/index.db", index_options));
    index::SharedEntries* shared = &bucket_entries;
    store::TieredBlobStore::Options tiered_options;
    if (async) {
      outbox = std::move(*outbox::Outbox::Open({.dir = dir + "/outbox"}, clock));
      tiered_options.outbox = outbox.get();
      outbox_entries = std::make_unique<index::OutboxSharedEntries>(bucket_entries, *outbox);
      shared = outbox_entries.get();
    }
    tiered = std::make_unique<store::TieredBlobStore>(*local, remote, tiered_options);
    core::CacheOptions o;
    o.shared_entries = shared;
    o.gc_grace_ms = 0;
    cache = std::make_unique<core::CacheService>(*tiered, *index, clock, metrics, o);
    if (!async) return;
    outbox::OutboxDrainer::Options drainer_options;
    drainer_options.random = [] { return 1.0; };
    drainer = std::make_unique<outbox::OutboxDrainer>(*outbox, clock, drainer_options);
    drainer->SetHandler(std::string(store::TieredBlobStore::kBlobRecordKind),
                        [this](const outbox::Record& r) { return tiered->DrainBlobRecord(r); });
    drainer->SetHandler(std::string(index::OutboxSharedEntries::kPublishRecordKind),
                        [this](const outbox::Record& r) { return outbox_entries->DrainPublishRecord(r); });
    outbox_entries->SetOnSuperseded([this](const index::Entry& ours) {
      (void)cache->DropLocalEntry(ours.ns, ours.key, ours.digest);
    });
  }

  metrics::Registry registry;
  core::CacheMetrics metrics;
  std::unique_ptr<store::FsBlobStore> local;
  std::unique_ptr<index::SqliteIndex> index;
  std::unique_ptr<outbox::Outbox> outbox;
  std::unique_ptr<index::OutboxSharedEntries> outbox_entries;
  std::unique_ptr<store::TieredBlobStore> tiered;
  std::unique_ptr<core::CacheService> cache;
  std::unique_ptr<outbox::OutboxDrainer> drainer;
};

Status PutTurbo(core::CacheService& cache, const std::string& key, const std::string& data) {
  core::PutOptions o;
  o.ns = kNs;
  o.key = key;
  o.mode = index::PutMode::kIfAbsent;
  CELLAR_ASSIGN_OR_RETURN(auto put, cache.BeginPut(std::move(o)));
  CELLAR_RETURN_IF_ERROR(put->Write(std::as_bytes(std::span(data.data(), data.size()))));
  return put->Commit().status();
}

class AsyncUploadsTest : public ::testing::Test {
 protected:
  AsyncUploadsTest() {
    s3::S3BlobStoreOptions options;
    options.spool_dir = dir_.path();
    remote_ = std::make_unique<s3::S3BlobStore>(s3_, clock_, options);
    a_ = std::make_unique<Node>(dir_.path() + "/a", /*async=*/true, clock_, *remote_, bucket_entries_);
    b_ = std::make_unique<Node>(dir_.path() + "/b", /*async=*/false, clock_, *remote_, bucket_entries_);
  }
  // Index of the first call starting with `prefix` in the fake's log.
  size_t CallIndex(const std::string& prefix) {
    auto calls = s3_.Calls();
    auto it = std::find_if(calls.begin(), calls.end(), [&](const std::string& c) { return c.starts_with(prefix); });
    return static_cast<size_t>(it - calls.begin());
  }

  store::ScopedTempDir dir_;
  env::FakeClock clock_;
  s3::FakeS3Client s3_{clock_};
  std::unique_ptr<s3::S3BlobStore> remote_;
  index::S3SharedEntries bucket_entries_{s3_, ""};
  std::unique_ptr<Node> a_;
  std::unique_ptr<Node> b_;
};

TEST_F(AsyncUploadsTest, WriteIsAnsweredWithoutTheBucketAndSharedOnceDrained) {
  ASSERT_TRUE(PutTurbo(*a_->cache, "k", "artifact bytes").ok());
  EXPECT_TRUE(s3_.Calls().empty()) << "the PUT must not wait for the bucket";
  EXPECT_EQ(core::GetBytes(*a_->cache, kNs, "k"), "artifact bytes");
  EXPECT_EQ(core::GetBytes(*b_->cache, kNs, "k"), std::nullopt) << "not in the bucket yet";

  EXPECT_EQ(a_->drainer->RunReady(), 2);
  EXPECT_LT(CallIndex("PUT blobs/"), CallIndex("PUT entries/")) << "the manifest must follow its blob";
  EXPECT_EQ(a_->outbox->size(), 0u);
  clock_.Advance(seconds(6));  // past B's memory of the miss
  EXPECT_EQ(core::GetBytes(*b_->cache, kNs, "k"), "artifact bytes");
}

TEST_F(AsyncUploadsTest, RecordsOfAKilledNodeAreDrainedByItsNextRun) {
  ASSERT_TRUE(PutTurbo(*a_->cache, "k1", "one").ok());
  ASSERT_TRUE(PutTurbo(*a_->cache, "k2", "two").ok());
  a_.reset();  // nothing drained
  a_ = std::make_unique<Node>(dir_.path() + "/a", /*async=*/true, clock_, *remote_, bucket_entries_);
  EXPECT_EQ(a_->outbox->size(), 4u);
  EXPECT_EQ(core::GetBytes(*a_->cache, kNs, "k1"), "one");
  EXPECT_EQ(a_->drainer->RunReady(), 4);
  EXPECT_EQ(core::GetBytes(*b_->cache, kNs, "k1"), "one");
  EXPECT_EQ(core::GetBytes(*b_->cache, kNs, "k2"), "two");
}

TEST_F(AsyncUploadsTest, DeletedEntrysBlobIsKeptUntilUploadedThenCollected) {
  ASSERT_TRUE(PutTurbo(*a_->cache, "k", "short-lived").ok());
  ASSERT_TRUE(a_->cache->Delete(kNs, "k").ok());
  EXPECT_EQ(a_->outbox->size(), 1u) << "the publish is dropped, the upload stays";
  clock_.Advance(seconds(1));
  auto report = a_->cache->RunEviction();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->blobs_removed, 0u) << "a blob waiting for its upload is the only copy";
  EXPECT_EQ(a_->drainer->RunReady(), 1);
  report = a_->cache->RunEviction();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->blobs_removed, 1u);
  EXPECT_EQ(s3_.CountCalls(s3::S3Op::kPut), 1u) << "the blob, never the withdrawn manifest";
}

TEST_F(AsyncUploadsTest, NodeWhoseCreateOnlyPublishLostServesTheWinnersArtifact) {
  ASSERT_TRUE(PutTurbo(*a_->cache, "k", "built on A").ok());  // acknowledged, not drained
  ASSERT_TRUE(PutTurbo(*b_->cache, "k", "built on B").ok());  // write-through: B wins the bucket
  EXPECT_EQ(core::GetBytes(*a_->cache, kNs, "k"), "built on A");
  EXPECT_EQ(a_->drainer->RunReady(), 2);
  EXPECT_EQ(a_->outbox->size(), 0u);
  EXPECT_EQ(core::GetBytes(*a_->cache, kNs, "k"), "built on B") << "every node now agrees";
  EXPECT_EQ(core::GetBytes(*b_->cache, kNs, "k"), "built on B");
}

}  // namespace
}  // namespace cellar::server
