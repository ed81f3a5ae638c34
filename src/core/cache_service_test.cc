#include "core/cache_service.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <string>

#include "core/cache_test_util.h"
#include "hash/blake3.h"
#include "hash/sha256.h"
#include "index/mem_index.h"
#include "store/mem_blob_store.h"
#include "testing/forwarding_blob_store.h"

namespace cellar::core {
namespace {

using namespace std::chrono_literals;

class CacheServiceTest : public ::testing::Test {
 protected:
  CacheServiceTest() : index_([this] { return clock_.NowUnixMs(); }), metrics_(registry_) {}

  std::unique_ptr<CacheService> Make(CacheOptions options = {}) {
    return std::make_unique<CacheService>(blobs_, index_, clock_, metrics_, options);
  }

  static Status PutBytes(CacheService& cache, const std::string& ns, const std::string& key,
                         const std::string& data, index::PutMode mode = index::PutMode::kOverwrite,
                         std::unique_ptr<Verifier> verifier = nullptr) {
    PutOptions o;
    o.ns = ns;
    o.key = key;
    o.mode = mode;
    o.verifier = std::move(verifier);
    CELLAR_ASSIGN_OR_RETURN(auto put, cache.BeginPut(std::move(o)));
    CELLAR_RETURN_IF_ERROR(put->Write(std::as_bytes(std::span(data.data(), data.size()))));
    return put->Commit().status();
  }

  env::FakeClock clock_;
  store::MemBlobStore blobs_;
  index::MemIndex index_;
  metrics::Registry registry_;
  CacheMetrics metrics_;
};

TEST_F(CacheServiceTest, PutThenGet) {
  auto cache = Make();
  ASSERT_TRUE(PutBytes(*cache, "ccache", "k", "hello").ok());
  auto hit = cache->Get("ccache", "k");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_EQ(ReadAll(***hit), "hello");
  EXPECT_EQ((**hit)->entry().size, 5u);
  auto miss = cache->Get("ccache", "other");
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(*miss);
}

TEST_F(CacheServiceTest, SmallHitsAreHeldInMemoryLargeOnesAreNot) {
  CacheOptions options;
  options.small_blob_max_bytes = 100;
  auto cache = Make(options);
  const std::string small(100, 's'), large(101, 'l');
  ASSERT_TRUE(PutBytes(*cache, "ccache", "small", small).ok());
  ASSERT_TRUE(PutBytes(*cache, "ccache", "large", large).ok());
  for (int round = 0; round < 2; ++round) {  // read from the store, then from memory
    auto hit = cache->Get("ccache", "small");
    ASSERT_TRUE(hit.ok() && *hit);
    std::shared_ptr<const std::string> bytes = (**hit)->bytes_in_memory();
    ASSERT_NE(bytes, nullptr) << round;
    EXPECT_EQ(*bytes, small);
  }
  auto hit = cache->Get("ccache", "large");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_EQ((**hit)->bytes_in_memory(), nullptr);
  EXPECT_EQ(ReadAll(***hit), large);
}

TEST_F(CacheServiceTest, MarkFetchedRefreshesTimestampAndAttributes) {
  auto cache = Make();
  ASSERT_TRUE(PutBytes(*cache, "npm/upstream", "doc", "{}").ok());
  int64_t before = (*cache->Lookup("npm/upstream", "doc"))->fetched_at_ms;
  clock_.Advance(std::chrono::milliseconds(5000));
  std::string attrs = R"({"etag":"\"v2\""})";
  ASSERT_TRUE(cache->MarkFetched("npm/upstream", "doc", &attrs).ok());
  auto e = *cache->Lookup("npm/upstream", "doc");
  EXPECT_EQ(e->fetched_at_ms, before + 5000);
  EXPECT_EQ(e->attributes, attrs);
  auto hit = cache->Get("npm/upstream", "doc");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_EQ(ReadAll(***hit), "{}");  // same bytes, still readable
  EXPECT_TRUE(cache->MarkFetched("npm/upstream", "absent").IsNotFound());
}

TEST_F(CacheServiceTest, VerifierFailureStoresNothing) {
  auto cache = Make();
  std::array<uint8_t, 32> wrong{};
  Status s = PutBytes(*cache, "bazel/cas", "k", "data", index::PutMode::kOverwrite,
                      std::make_unique<Sha256Verifier>(wrong));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_FALSE(*cache->Get("bazel/cas", "k"));
  int blobs = 0;
  ASSERT_TRUE(blobs_.ForEach([&](const store::BlobInfo&) { ++blobs; }).ok());
  EXPECT_EQ(blobs, 0);
}

TEST_F(CacheServiceTest, Sha256VerifierAcceptsMatchingBody) {
  auto cache = Make();
  std::string data = "abc";
  auto digest = hash::Sha256(std::as_bytes(std::span(data.data(), data.size())));
  EXPECT_TRUE(PutBytes(*cache, "bazel/cas", "k", data, index::PutMode::kOverwrite,
                       std::make_unique<Sha256Verifier>(digest)).ok());
}

TEST_F(CacheServiceTest, IfAbsentKeepsFirstWrite) {
  auto cache = Make();
  ASSERT_TRUE(PutBytes(*cache, "nx", "k", "first", index::PutMode::kIfAbsent).ok());
  EXPECT_EQ(PutBytes(*cache, "nx", "k", "second", index::PutMode::kIfAbsent).code(), Code::kAlreadyExists);
  EXPECT_EQ(ReadAll(***cache->Get("nx", "k")), "first");
}

TEST_F(CacheServiceTest, AbandonedPutStoresNothing) {
  auto cache = Make();
  {
    PutOptions o;
    o.ns = "ccache";
    o.key = "k";
    auto put = cache->BeginPut(std::move(o));
    ASSERT_TRUE(put.ok());
    std::string half = "partial";
    ASSERT_TRUE((*put)->Write(std::as_bytes(std::span(half.data(), half.size()))).ok());
  }
  EXPECT_FALSE(*cache->Get("ccache", "k"));
}

TEST_F(CacheServiceTest, EvictsLeastRecentlyUsedDownToLowWatermark) {
  CacheOptions o;
  o.max_bytes = 1000;
  o.high_watermark = 0.5;
  o.low_watermark = 0.3;
  o.gc_grace_ms = 60'000;
  std::vector<std::string> evicted;
  o.on_evict = [&](const index::Entry& e, std::string_view reason) {
    evicted.push_back(e.key + " " + std::string(reason) + " " + std::to_string(e.size));
  };
  auto cache = Make(o);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(PutBytes(*cache, "ccache", "k" + std::to_string(i), std::string(100, 'a' + i)).ok());
    clock_.Advance(1s);
  }
  // Touch k0 so it is the most recently used.
  ASSERT_TRUE(cache->Get("ccache", "k0").ok());
  clock_.Advance(1s);
  auto report = cache->RunEviction();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_LE(report->stored_bytes_after, 300u);
  // Each evicted entry reported once, least recently used first.
  ASSERT_EQ(evicted.size(), report->entries_evicted);
  ASSERT_FALSE(evicted.empty());
  EXPECT_EQ(evicted[0], "k1 size 100");
  EXPECT_TRUE(**cache->Get("ccache", "k0"));
  EXPECT_FALSE(*cache->Get("ccache", "k1"));
  EXPECT_TRUE(**cache->Get("ccache", "k5"));
}

TEST_F(CacheServiceTest, TtlExpiresUnusedEntriesAndGcWaitsForGrace) {
  CacheOptions o;
  o.ttl_ms = 60'000;
  o.gc_grace_ms = 120'000;
  std::vector<std::string> evicted;
  o.on_evict = [&](const index::Entry& e, std::string_view reason) { evicted.push_back(e.key + " " + std::string(reason)); };
  auto cache = Make(o);
  ASSERT_TRUE(PutBytes(*cache, "ccache", "old", "x").ok());
  clock_.Advance(2min);
  ASSERT_TRUE(PutBytes(*cache, "ccache", "new", "y").ok());
  auto report = cache->RunEviction();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->entries_expired, 1u);
  EXPECT_EQ(evicted, std::vector<std::string>{"old ttl"});
  EXPECT_EQ(report->blobs_removed, 0u);  // inside the grace period
  clock_.Advance(3min);
  report = cache->RunEviction();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->blobs_removed, 1u);
}

TEST_F(CacheServiceTest, PinnedBlobIsNotCollected) {
  CacheOptions o;
  o.gc_grace_ms = 0;
  auto cache = Make(o);
  ASSERT_TRUE(PutBytes(*cache, "ccache", "k", "pinned bytes").ok());
  auto hit = cache->Get("ccache", "k");
  ASSERT_TRUE(hit.ok() && *hit);
  ASSERT_TRUE(cache->Delete("ccache", "k").ok());
  clock_.Advance(1s);
  auto report = cache->RunEviction();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->blobs_removed, 0u);
  EXPECT_EQ(ReadAll(***hit), "pinned bytes");
  hit->reset();
  report = cache->RunEviction();
  EXPECT_EQ(report->blobs_removed, 1u);
}

// A store that pins the digests it is told to, as TieredBlobStore pins
// blobs waiting for an asynchronous upload (and refuses to remove them).
class PinningBlobStore final : public testing::ForwardingBlobStore {
 public:
  using ForwardingBlobStore::ForwardingBlobStore;
  bool Pinned(const Digest& digest) override {
    std::lock_guard lock(mu_);
    return pinned_.count(digest) > 0;
  }
  Status Remove(const Digest& digest) override {
    if (Pinned(digest)) return Status::Unavailable("pinned");
    return base_.Remove(digest);
  }
  void Pin(const Digest& d, bool on) {
    std::lock_guard lock(mu_);
    if (on) pinned_.insert(d);
    else pinned_.erase(d);
  }

 private:
  std::mutex mu_;
  std::set<Digest> pinned_;
};

Digest DigestOf(const std::string& data) {
  hash::Blake3Hasher hasher;
  hasher.Update(data.data(), data.size());
  return Digest{hasher.Finalize()};
}

TEST_F(CacheServiceTest, BlobTheStorePinsIsCollectedOnlyOnceUnpinned) {
  PinningBlobStore pinning(blobs_);
  CacheOptions o;
  o.gc_grace_ms = 0;
  CacheService cache(pinning, index_, clock_, metrics_, o);
  ASSERT_TRUE(PutBytes(cache, "ccache", "k", "awaiting upload").ok());
  const Digest d = DigestOf("awaiting upload");
  pinning.Pin(d, true);
  ASSERT_TRUE(cache.Delete("ccache", "k").ok());
  clock_.Advance(1s);
  auto report = cache.RunEviction();
  ASSERT_TRUE(report.ok()) << report.error().ToString();  // a pass never fails on a pinned blob
  EXPECT_EQ(report->blobs_removed, 0u);
  EXPECT_TRUE(*blobs_.Stat(d));
  report = cache.RunEviction();  // and the next pass does not loop on it either
  ASSERT_TRUE(report.ok());
  pinning.Pin(d, false);
  report = cache.RunEviction();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->blobs_removed, 1u);
  EXPECT_FALSE(*blobs_.Stat(d));
}

TEST_F(CacheServiceTest, EvictionPassesOverEntriesWhoseBlobsTheStorePins) {
  PinningBlobStore pinning(blobs_);
  CacheOptions o;
  o.max_bytes = 1000;
  o.high_watermark = 0.5;
  o.low_watermark = 0.3;
  CacheService cache(pinning, index_, clock_, metrics_, o);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(PutBytes(cache, "ccache", "k" + std::to_string(i), std::string(100, 'a' + i)).ok());
    clock_.Advance(1s);
  }
  pinning.Pin(DigestOf(std::string(100, 'a')), true);  // k0, the least recently used
  auto report = cache.RunEviction();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_TRUE(**cache.Get("ccache", "k0")) << "evicting it would free nothing";
  EXPECT_FALSE(*cache.Get("ccache", "k1"));
}

TEST_F(CacheServiceTest, DropLocalEntryForgetsTheEntryOnlyWhenItNamesTheDigest) {
  auto cache = Make();
  ASSERT_TRUE(PutBytes(*cache, "turbo/t", "k", "ours").ok());
  ASSERT_TRUE(cache->DropLocalEntry("turbo/t", "k", DigestOf("something else")).ok());
  EXPECT_TRUE(**cache->Get("turbo/t", "k"));
  ASSERT_TRUE(cache->DropLocalEntry("turbo/t", "k", DigestOf("ours")).ok());
  EXPECT_FALSE(*cache->Get("turbo/t", "k"));
}

TEST_F(CacheServiceTest, RefusesABodyLargerThanTheStore) {
  CacheOptions o;
  o.max_bytes = 100;
  auto cache = Make(o);
  EXPECT_EQ(PutBytes(*cache, "ccache", "a", std::string(200, 'x')).code(), Code::kResourceExhausted);
  EXPECT_FALSE(*cache->Get("ccache", "a"));
  EXPECT_EQ(cache->approx_stored_bytes(), 0u);
  EXPECT_EQ(cache->reserved_bytes(), 0u);
}

TEST_F(CacheServiceTest, AdoptsOrphanBlobsForCollection) {
  CacheOptions o;
  o.gc_grace_ms = 1000;
  auto cache = Make(o);
  auto writer = blobs_.NewWriter();
  std::string data = "orphan";
  ASSERT_TRUE((*writer)->Write(std::as_bytes(std::span(data.data(), data.size()))).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  auto adopted = cache->AdoptOrphanBlobs();
  ASSERT_TRUE(adopted.ok());
  EXPECT_EQ(*adopted, 1u);
  clock_.Advance(2s);
  EXPECT_EQ(cache->RunEviction()->blobs_removed, 1u);
}

}  // namespace
}  // namespace cellar::core

namespace cellar::core {
namespace {

TEST(CacheServiceContainsTest, DoesNotCountAsLookup) {
  env::FakeClock clock;
  store::MemBlobStore blobs;
  index::MemIndex index;
  metrics::Registry registry;
  CacheMetrics metrics(registry);
  CacheService cache(blobs, index, clock, metrics, CacheOptions{});
  EXPECT_FALSE(*cache.Contains("bazel/cas", "k"));
  EXPECT_EQ(metrics.lookups.With({"bazel", "miss"}).value(), 0u);
  EXPECT_TRUE(cache.Lookup("bazel/cas", "k").ok());
  EXPECT_EQ(metrics.lookups.With({"bazel", "miss"}).value(), 1u);
}

}  // namespace
}  // namespace cellar::core
