// CacheService with shared entries: nodes on one bucket (one blob store and
// one MemSharedEntries, an index each) recover each other's entries on a
// local miss (mutable documents with their age); misses are single-flight and remembered for a
// while; an unreachable bucket makes lookups misses and writes kUnavailable
// with nothing left half-committed.
#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "core/cache_service.h"
#include "core/cache_test_util.h"
#include "index/mem_index.h"
#include "index/mem_shared_entries.h"
#include "store/mem_blob_store.h"

namespace cellar::core {
namespace {

using std::chrono::milliseconds;

struct Node {
  Node(store::BlobStore& blobs, index::SharedEntries& shared, env::FakeClock& clock)
      : index([&clock] { return clock.NowUnixMs(); }), metrics(registry) {
    CacheOptions o;
    o.shared_entries = &shared;
    o.shared_lookup.miss_ttl_ms = 5'000;
    cache = std::make_unique<CacheService>(blobs, index, clock, metrics, o);
  }
  index::MemIndex index;
  metrics::Registry registry;
  CacheMetrics metrics;
  std::unique_ptr<CacheService> cache;
};

class CacheServiceSharedTest : public ::testing::Test {
 protected:
  env::FakeClock clock_;
  store::MemBlobStore bucket_;  // the blobs every node reads through
  index::MemSharedEntries shared_;
  Node a_{bucket_, shared_, clock_};
  Node b_{bucket_, shared_, clock_};
};

TEST_F(CacheServiceSharedTest, EmptyNodeRecoversAnotherNodesEntry) {
  PutOptions o;
  o.ns = "npm/tarballs";
  o.key = "@scope/pkg/-/pkg-1.0.0.tgz";
  o.content_type = "application/gzip";
  o.attributes = R"({"integrity":"sha512-x"})";
  auto put = *a_.cache->BeginPut(std::move(o));
  const std::string data = "tarball bytes";
  ASSERT_TRUE(put->Write(std::as_bytes(std::span(data))).ok());
  ASSERT_TRUE(put->Commit().ok());

  auto hit = b_.cache->Get("npm/tarballs", "@scope/pkg/-/pkg-1.0.0.tgz");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_EQ(ReadAll(***hit), data);
  EXPECT_EQ((**hit)->entry().content_type, "application/gzip");
  EXPECT_EQ((**hit)->entry().attributes, R"({"integrity":"sha512-x"})");
  // Now in B's own index: the next lookup asks nobody.
  const int finds = shared_.finds();
  EXPECT_TRUE(b_.index.Get("npm/tarballs", "@scope/pkg/-/pkg-1.0.0.tgz")->has_value());
  EXPECT_TRUE(*b_.cache->Contains("npm/tarballs", "@scope/pkg/-/pkg-1.0.0.tgz"));
  EXPECT_EQ(shared_.finds(), finds);
  EXPECT_GT(b_.cache->approx_stored_bytes(), 0u) << "the recovered blob counts against B's budget";
}

TEST_F(CacheServiceSharedTest, LookupAndContainsRecoverToo) {
  ASSERT_TRUE(PutBytes(*a_.cache, "turbo/t", "h1", "a").ok());
  ASSERT_TRUE(PutBytes(*a_.cache, "bazel/ac", "h2", "b").ok());
  auto entry = b_.cache->Lookup("turbo/t", "h1");
  ASSERT_TRUE(entry.ok() && *entry);
  EXPECT_EQ((*entry)->size, 1u);
  EXPECT_TRUE(*b_.cache->Contains("bazel/ac", "h2"));
}

TEST_F(CacheServiceSharedTest, AWriterLeavesATakenKeyToTheCreateOnlyPublish) {
  ASSERT_TRUE(PutBytes(*a_.cache, "turbo/t", "taken", "first").ok());
  const int finds = shared_.finds();
  // The bucket is not asked: B's commit would learn it anyway.
  EXPECT_FALSE(*b_.cache->ContainsBeforeCreate("turbo/t", "taken"));
  EXPECT_EQ(shared_.finds(), finds);
  PutOptions o;
  o.ns = "turbo/t";
  o.key = "taken";
  o.mode = index::PutMode::kIfAbsent;
  auto put = *b_.cache->BeginPut(std::move(o));
  ASSERT_TRUE(put->Write(std::as_bytes(std::span(std::string_view("second")))).ok());
  EXPECT_EQ(put->Commit().status().code(), Code::kAlreadyExists);
  auto hit = b_.cache->Get("turbo/t", "taken");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_EQ(ReadAll(***hit), "first");
  // A key this node holds is known without asking anybody.
  EXPECT_TRUE(*b_.cache->ContainsBeforeCreate("turbo/t", "taken"));
  EXPECT_EQ(shared_.finds(), finds + 1);  // the Get's recovery only
}

TEST_F(CacheServiceSharedTest, DeferredPublishesMakeAWriterAskTheBucketFirst) {
  shared_.publish_refuses_taken_keys = false;
  ASSERT_TRUE(PutBytes(*a_.cache, "turbo/t", "taken", "first").ok());
  const int finds = shared_.finds();
  EXPECT_TRUE(*b_.cache->ContainsBeforeCreate("turbo/t", "taken"));
  EXPECT_EQ(shared_.finds(), finds + 1);
  EXPECT_FALSE(*b_.cache->ContainsBeforeCreate("turbo/t", "free"));
}

// A mutable document (npm packument) stored by A at `fetched_ms`.
Status PutDocument(CacheService& cache, const std::string& bytes) {
  PutOptions o;
  o.ns = "npm/upstream";
  o.key = "full:left-pad";
  o.max_age_ms = 300'000;
  o.attributes = R"({"etag":"\"v1\""})";
  CELLAR_ASSIGN_OR_RETURN(auto put, cache.BeginPut(std::move(o)));
  CELLAR_RETURN_IF_ERROR(put->Write(std::as_bytes(std::span(bytes))));
  return put->Commit().status();
}

TEST_F(CacheServiceSharedTest, MutableDocumentsAreSharedWithTheirAge) {
  const int64_t fetched = clock_.NowUnixMs();
  ASSERT_TRUE(PutDocument(*a_.cache, "{\"v\":1}").ok());
  clock_.Advance(milliseconds(10'000));
  auto entry = b_.cache->Lookup("npm/upstream", "full:left-pad");
  ASSERT_TRUE(entry.ok() && *entry);
  // B's copy is exactly as old as A's: B serves it as fresh for the rest of
  // its max age, then revalidates it (with A's ETag), as A would.
  EXPECT_EQ((*entry)->fetched_at_ms, fetched);
  EXPECT_EQ((*entry)->max_age_ms, 300'000);
  EXPECT_EQ((*entry)->attributes, R"({"etag":"\"v1\""})");
  EXPECT_EQ(GetBytes(*b_.cache, "npm/upstream", "full:left-pad"), "{\"v\":1}");

  // A refetch that changed it replaces the shared copy.
  ASSERT_TRUE(PutDocument(*a_.cache, "{\"v\":2}").ok());
  auto shared = shared_.Find("npm/upstream", "full:left-pad");
  ASSERT_TRUE(shared.ok() && *shared);
  EXPECT_EQ((*shared)->fetched_at_ms, clock_.NowUnixMs());
  EXPECT_EQ((*shared)->size, 7u);
}

TEST_F(CacheServiceSharedTest, AMutableDocumentThatCannotBeSharedIsStillStored) {
  shared_.down = true;
  ASSERT_TRUE(PutDocument(*a_.cache, "{\"v\":1}").ok());
  EXPECT_EQ(GetBytes(*a_.cache, "npm/upstream", "full:left-pad"), "{\"v\":1}");
  shared_.down = false;
  EXPECT_EQ(shared_.size(), 0u);
}

TEST_F(CacheServiceSharedTest, LocalOnlyEntriesAreNotShared) {
  PutOptions o;
  o.ns = "npm/derived";
  o.key = "v:1.0.0:left-pad";
  o.local_only = true;
  auto put = *a_.cache->BeginPut(std::move(o));
  ASSERT_TRUE(put->Write(std::as_bytes(std::span(std::string_view("{}")))).ok());
  ASSERT_TRUE(put->Commit().ok());
  EXPECT_EQ(shared_.size(), 0u);
  EXPECT_EQ(GetBytes(*a_.cache, "npm/derived", "v:1.0.0:left-pad"), "{}");
  EXPECT_FALSE(GetBytes(*b_.cache, "npm/derived", "v:1.0.0:left-pad"));
}

TEST_F(CacheServiceSharedTest, MissesAreRememberedForAWhile) {
  EXPECT_FALSE(GetBytes(*b_.cache, "turbo/t", "nobody-built-this"));
  EXPECT_FALSE(GetBytes(*b_.cache, "turbo/t", "nobody-built-this"));
  EXPECT_FALSE(*b_.cache->Contains("turbo/t", "nobody-built-this"));
  EXPECT_EQ(shared_.finds(), 1);
  // Published meanwhile by A: B sees it once the remembered miss expires.
  ASSERT_TRUE(PutBytes(*a_.cache, "turbo/t", "nobody-built-this", "late").ok());
  EXPECT_FALSE(GetBytes(*b_.cache, "turbo/t", "nobody-built-this"));
  clock_.Advance(milliseconds(5'001));
  EXPECT_EQ(GetBytes(*b_.cache, "turbo/t", "nobody-built-this"), "late");
  EXPECT_EQ(shared_.finds(), 2);
}

TEST_F(CacheServiceSharedTest, ConcurrentMissesShareOneLookup) {
  // A thread either joins the lookup in flight or finds the miss it
  // remembered: one request whatever the timing (shared_lookup_test holds
  // a lookup open to show the joining).
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] { (void)b_.cache->Get("turbo/t", "storm"); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 100; ++i) (void)b_.cache->Get("turbo/t", "storm");
  EXPECT_EQ(shared_.finds(), 1);
}

TEST_F(CacheServiceSharedTest, UnreachableBucketMakesLookupsMissesAndWritesUnavailable) {
  ASSERT_TRUE(PutBytes(*a_.cache, "turbo/t", "local", "kept").ok());
  shared_.down = true;
  // A's own entry still hits: the shared store is not asked.
  EXPECT_EQ(GetBytes(*a_.cache, "turbo/t", "local"), "kept");
  // B cannot recover it: a miss, not an error.
  auto hit = b_.cache->Get("turbo/t", "local");
  ASSERT_TRUE(hit.ok());
  EXPECT_FALSE(*hit);
  // A write cannot be published: kUnavailable with a clear message, and
  // neither A's index nor the bucket holds the entry.
  Status s = PutBytes(*a_.cache, "turbo/t", "new", "bytes");
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("cannot be reached"), std::string::npos) << s.message();
  EXPECT_FALSE(a_.index.Get("turbo/t", "new")->has_value());
  shared_.down = false;
  EXPECT_EQ(shared_.size(), 1u);
  ASSERT_TRUE(PutBytes(*a_.cache, "turbo/t", "new", "bytes").ok());
  clock_.Advance(milliseconds(5'001));  // B remembered its failed lookup as a miss
  EXPECT_EQ(GetBytes(*b_.cache, "turbo/t", "new"), "bytes");
  EXPECT_EQ(GetBytes(*b_.cache, "turbo/t", "local"), "kept");
}

TEST_F(CacheServiceSharedTest, FirstWriterWinsAcrossNodes) {
  PutOptions o;
  o.ns = "turbo/t";
  o.key = "h";
  o.mode = index::PutMode::kIfAbsent;
  PutOptions first;
  first.ns = o.ns;
  first.key = o.key;
  first.mode = o.mode;
  auto put_a = *a_.cache->BeginPut(std::move(first));
  // B checks first, as the upload adapters do (first write wins): a miss,
  // which B remembers.
  EXPECT_FALSE(*b_.cache->Contains("turbo/t", "h"));
  auto put_b = *b_.cache->BeginPut(std::move(o));
  ASSERT_TRUE(put_a->Write(std::as_bytes(std::span(std::string_view("from a")))).ok());
  ASSERT_TRUE(put_b->Write(std::as_bytes(std::span(std::string_view("from b")))).ok());
  ASSERT_TRUE(put_a->Commit().ok());
  auto lost = put_b->Commit();
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code(), Code::kAlreadyExists);
  EXPECT_FALSE(b_.index.Get("turbo/t", "h")->has_value());
  // At once, with no time passing: losing the race forgot the remembered
  // miss, so B serves the winner instead of a 404 for the next 5 s.
  EXPECT_EQ(GetBytes(*b_.cache, "turbo/t", "h"), "from a");
}

TEST_F(CacheServiceSharedTest, DeleteWithdrawsButEvictionDoesNot) {
  ASSERT_TRUE(PutBytes(*a_.cache, "ccache/t", "deleted", "x").ok());
  ASSERT_TRUE(PutBytes(*a_.cache, "ccache/t", "evicted", "y").ok());
  ASSERT_TRUE(a_.cache->Delete("ccache/t", "deleted").ok());
  EXPECT_FALSE(GetBytes(*b_.cache, "ccache/t", "deleted"));
  // Eviction (here: deleting the index row as eviction does) frees this
  // node only; the entry comes back from the bucket.
  ASSERT_TRUE(a_.index.DeleteIfDigest("ccache/t", "evicted", (*a_.index.Get("ccache/t", "evicted"))->digest).ok());
  EXPECT_EQ(shared_.size(), 1u);
  EXPECT_EQ(GetBytes(*b_.cache, "ccache/t", "evicted"), "y");
}

TEST_F(CacheServiceSharedTest, DeleteWithTheBucketDownRemovesNothing) {
  ASSERT_TRUE(PutBytes(*a_.cache, "ccache/t", "k", "x").ok());
  shared_.down = true;
  Status s = a_.cache->Delete("ccache/t", "k");
  EXPECT_EQ(s.code(), Code::kUnavailable);
  shared_.down = false;
  EXPECT_EQ(GetBytes(*a_.cache, "ccache/t", "k"), "x");
}

TEST_F(CacheServiceSharedTest, EntryWhoseBlobTheBucketLostIsAMissAndNotRetriedAtOnce) {
  ASSERT_TRUE(PutBytes(*a_.cache, "turbo/t", "h", "gone soon").ok());
  auto entry = *shared_.Find("turbo/t", "h");
  ASSERT_TRUE(bucket_.Remove((*entry).digest).ok());
  EXPECT_FALSE(GetBytes(*b_.cache, "turbo/t", "h"));
  EXPECT_FALSE(b_.index.Get("turbo/t", "h")->has_value());
  const int finds = shared_.finds();
  EXPECT_FALSE(GetBytes(*b_.cache, "turbo/t", "h"));
  EXPECT_EQ(shared_.finds(), finds);
}

}  // namespace
}  // namespace cellar::core
