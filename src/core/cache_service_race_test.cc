// Regression tests for issue 13, defect 9: an entry cache that kept the
// loser of two crossing overwrites, and a vanished-blob path that then
// deleted the winner's index row. Forwarding wrappers order the steps, so
// each race happens every run.
#include <gtest/gtest.h>

#include <functional>
#include <latch>
#include <thread>

#include "core/cache_service.h"
#include "core/cache_test_util.h"
#include "index/mem_index.h"
#include "store/mem_blob_store.h"
#include "testing/forwarding_blob_store.h"
#include "testing/forwarding_index.h"

namespace cellar::core {
namespace {

using namespace std::chrono_literals;

// Holds one armed Put after it reached the index, until released: the
// writer's own follow-up (the entry cache) then comes after everything the
// test does meanwhile.
class PausingIndex : public testing::ForwardingIndex {
 public:
  using ForwardingIndex::ForwardingIndex;
  void ArmPause() { armed_ = true; }
  std::latch landed{1};
  std::latch resume{1};

  Result<index::PutOutcome> Put(const index::Entry& entry, uint64_t stored_size,
                                index::PutMode mode) override {
    auto result = base_.Put(entry, stored_size, mode);
    if (armed_.exchange(false)) {
      landed.count_down();
      resume.wait();
    }
    return result;
  }

 private:
  std::atomic<bool> armed_{false};
};

// Runs a hook instead of opening the armed digest, then reports the blob
// gone: what a reader sees when the key was overwritten after it read the
// entry and GC collected the old blob before it opened it.
class VanishingBlobStore : public testing::ForwardingBlobStore {
 public:
  using ForwardingBlobStore::ForwardingBlobStore;
  void ArmVanish(const Digest& digest, std::function<void()> hook) {
    target_ = digest;
    hook_ = std::move(hook);
  }
  Result<std::optional<std::unique_ptr<store::BlobReader>>> Open(const Digest& digest) override {
    if (hook_ && digest == target_) {
      auto hook = std::move(hook_);
      hook_ = nullptr;
      hook();
      return std::optional<std::unique_ptr<store::BlobReader>>();
    }
    return base_.Open(digest);
  }

 private:
  Digest target_;
  std::function<void()> hook_;
};

class CacheServiceRaceTest : public ::testing::Test {
 protected:
  CacheServiceRaceTest() : mem_index_([this] { return clock_.NowUnixMs(); }), metrics_(registry_) {}

  env::FakeClock clock_;
  store::MemBlobStore mem_blobs_;
  index::MemIndex mem_index_;
  metrics::Registry registry_;
  CacheMetrics metrics_;
};

TEST_F(CacheServiceRaceTest, CrossingOverwritesNeverLeaveTheLoserCached) {
  PausingIndex index(mem_index_);
  CacheOptions o;
  o.gc_grace_ms = 60'000;
  CacheService cache(mem_blobs_, index, clock_, metrics_, o);

  // Writer A reaches the index first but the entry cache last.
  index.ArmPause();
  std::thread a([&] { ASSERT_TRUE(PutBytes(cache, "turbo/t", "k", "loser A").ok()); });
  index.landed.wait();
  ASSERT_TRUE(PutBytes(cache, "turbo/t", "k", "winner B").ok());
  index.resume.count_down();
  a.join();

  auto winner = mem_index_.Get("turbo/t", "k");
  ASSERT_TRUE(winner.ok() && *winner);
  auto looked_up = cache.Lookup("turbo/t", "k");
  ASSERT_TRUE(looked_up.ok() && *looked_up);
  EXPECT_EQ((*looked_up)->digest, (*winner)->digest) << "the entry cache serves the overwritten entry";

  // A's blob lost its reference to B: GC collects it after the grace period.
  clock_.Advance(2min);
  auto report = cache.RunEviction();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->blobs_removed, 1u);

  EXPECT_EQ(GetBytes(cache, "turbo/t", "k"), "winner B");
  auto still = mem_index_.Get("turbo/t", "k");
  ASSERT_TRUE(still.ok());
  EXPECT_TRUE(still->has_value()) << "the winner's index row was deleted";
}

TEST_F(CacheServiceRaceTest, VanishedBlobDropsOnlyTheEntryThatNamedIt) {
  VanishingBlobStore blobs(mem_blobs_);
  CacheOptions o;
  o.small_blob_cache_bytes = 0;  // every read opens the store
  CacheService cache(blobs, mem_index_, clock_, metrics_, o);
  ASSERT_TRUE(PutBytes(cache, "turbo/t", "k", "old").ok());
  auto old_entry = mem_index_.Get("turbo/t", "k");
  ASSERT_TRUE(old_entry.ok() && *old_entry);

  // Between reading the entry and opening its blob, another client
  // overwrites the key and the old blob is collected.
  blobs.ArmVanish((*old_entry)->digest, [&] { ASSERT_TRUE(PutBytes(cache, "turbo/t", "k", "new").ok()); });
  EXPECT_EQ(GetBytes(cache, "turbo/t", "k"), "new");
  auto row = mem_index_.Get("turbo/t", "k");
  ASSERT_TRUE(row.ok());
  EXPECT_TRUE(row->has_value()) << "the newer write's index row was deleted";

  // A blob that is really gone still drops its entry (a miss, refilled later).
  auto entry = mem_index_.Get("turbo/t", "k");
  ASSERT_TRUE(mem_blobs_.Remove((*entry)->digest).ok());
  EXPECT_EQ(GetBytes(cache, "turbo/t", "k"), std::nullopt);
  EXPECT_FALSE(*mem_index_.Get("turbo/t", "k"));
}

}  // namespace
}  // namespace cellar::core
