// A store that cannot answer for a while (the S3 tier of TieredBlobStore
// while the bucket is unreachable): Open fails with kUnavailable. Get must
// report the failure (adapters answer a miss) and keep the entry, so the
// same key hits again once the store is back. A miss (nullopt) or
// kCorruption would make CacheService forget the entry instead.
#include <gtest/gtest.h>

#include <atomic>

#include "core/cache_service.h"
#include "core/cache_test_util.h"
#include "index/mem_index.h"
#include "store/mem_blob_store.h"
#include "testing/forwarding_blob_store.h"

namespace cellar::core {
namespace {

class UnreachableBlobStore : public testing::ForwardingBlobStore {
 public:
  using ForwardingBlobStore::ForwardingBlobStore;
  std::atomic<bool> down{false};
  Result<std::optional<std::unique_ptr<store::BlobReader>>> Open(const Digest& digest) override {
    if (down) return Status::Unavailable("reading blob " + digest.Hex() + " from the remote tier: timed out");
    return base_.Open(digest);
  }
};

TEST(CacheServiceUnavailableTest, UnavailableStoreFailsTheLookupAndKeepsTheEntry) {
  env::FakeClock clock;
  store::MemBlobStore mem_blobs;
  index::MemIndex index([&clock] { return clock.NowUnixMs(); });
  metrics::Registry registry;
  CacheMetrics metrics(registry);
  UnreachableBlobStore blobs(mem_blobs);
  CacheOptions o;
  o.small_blob_cache_bytes = 0;  // every read opens the store
  CacheService cache(blobs, index, clock, metrics, o);
  ASSERT_TRUE(PutBytes(cache, "turbo/t", "k", "artifact bytes").ok());

  blobs.down = true;
  auto hit = cache.Get("turbo/t", "k");
  ASSERT_FALSE(hit.ok());
  EXPECT_EQ(hit.error().code(), Code::kUnavailable) << hit.error().ToString();
  auto entry = index.Get("turbo/t", "k");
  ASSERT_TRUE(entry.ok());
  EXPECT_TRUE(entry->has_value()) << "the entry was dropped while the store was unreachable";

  blobs.down = false;
  EXPECT_EQ(GetBytes(cache, "turbo/t", "k"), "artifact bytes");
}

}  // namespace
}  // namespace cellar::core
