// Filler with a fleet-wide lock: two nodes on one bucket (one blob store and
// one MemSharedEntries, an index and a filler each) and an in-memory lock
// standing in for Redis. Of two nodes filling one key at once, only the
// first asks the upstream; the other waits for the lease and serves the
// entry the first published.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "core/cache_test_util.h"
#include "core/fake_upstream_source.h"
#include "core/filler.h"
#include "index/mem_index.h"
#include "index/mem_shared_entries.h"
#include "store/mem_blob_store.h"

namespace cellar::core {
namespace {

// Leases in memory, as redis::FleetLock over Redis behaves: the first
// caller takes the key, later callers wait until it is released.
class MemFleetFillLock : public FleetFillLock {
 public:
  Hold Acquire(const std::string& key) override {
    std::unique_lock lock(mu_);
    ++acquires_;
    if (unavailable) return Hold{};  // as with Redis down: no lease, no wait
    bool waited = false;
    while (held_.count(key)) {
      waited = true;
      cv_.wait(lock);
    }
    held_.insert(key);
    auto release = [this, key](void*) {
      std::lock_guard guard(mu_);
      held_.erase(key);
      cv_.notify_all();
    };
    return Hold{std::shared_ptr<void>(nullptr, release), waited};
  }
  bool Held(const std::string& key) {
    std::lock_guard lock(mu_);
    return held_.count(key) > 0;
  }
  int acquires() {
    std::lock_guard lock(mu_);
    return acquires_;
  }
  std::atomic<bool> unavailable{false};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> held_;
  int acquires_ = 0;
};

struct Node {
  Node(store::BlobStore& bucket, index::SharedEntries& shared, env::FakeClock& clock, FleetFillLock& lock)
      : index([&clock] { return clock.NowUnixMs(); }), metrics(registry) {
    CacheOptions o;
    o.shared_entries = &shared;
    o.shared_lookup.miss_ttl_ms = 5'000;
    cache = std::make_unique<CacheService>(bucket, index, clock, metrics, o);
    filler = std::make_unique<Filler>(*cache, ::testing::TempDir(), &lock);
  }
  uint64_t Fills(const std::string& result) { return metrics.fills.With({"npm", result}).value(); }
  index::MemIndex index;
  metrics::Registry registry;
  CacheMetrics metrics;
  std::unique_ptr<CacheService> cache;
  std::unique_ptr<Filler> filler;
};

class FillerFleetTest : public ::testing::Test {
 protected:
  FillSpec Spec(const std::string& key, bool fail = false, int64_t max_age_ms = 0) {
    FillSpec spec;
    spec.put.ns = "npm/tarball";
    spec.put.key = key;
    spec.put.max_age_ms = max_age_ms;
    spec.open = [this, fail]() -> Result<std::unique_ptr<UpstreamSource>> {
      ++opens_;
      return std::unique_ptr<UpstreamSource>(
          new FakeUpstreamSource(data_, fail, /*announce_size=*/true, std::chrono::milliseconds(5)));
    };
    return spec;
  }
  static Result<std::string> Drain(FillReader& r) {
    std::string out;
    std::byte buf[4096];
    while (true) {
      CELLAR_ASSIGN_OR_RETURN(size_t n, r.Read(buf));
      if (n == 0) return out;
      out.append(reinterpret_cast<char*>(buf), n);
    }
  }
  // Node `node` asks for `key`; returns what it served (or the error).
  Result<std::string> Fill(Node& node, FillSpec spec) {
    CELLAR_ASSIGN_OR_RETURN(auto reader, node.filler->GetOrFill(std::move(spec)));
    return Drain(*reader);
  }
  void WaitUntilHeld(const std::string& key) {
    for (int i = 0; i < 2000 && !lock_.Held(key); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(lock_.Held(key));
  }

  const std::string data_ = std::string(40'000, 'z');
  env::FakeClock clock_;
  store::MemBlobStore bucket_;
  index::MemSharedEntries shared_;
  MemFleetFillLock lock_;
  Node a_{bucket_, shared_, clock_, lock_};
  Node b_{bucket_, shared_, clock_, lock_};
  std::atomic<int> opens_{0};
};

TEST_F(FillerFleetTest, TheSecondNodeWaitsAndServesWhatTheFirstPublished) {
  Result<std::string> from_a = Status::Internal("not run");
  std::thread a([&] { from_a = Fill(a_, Spec("w/-/w-1.0.0.tgz")); });
  WaitUntilHeld("fill:npm/tarball|w/-/w-1.0.0.tgz");
  Result<std::string> from_b = Fill(b_, Spec("w/-/w-1.0.0.tgz"));
  a.join();
  ASSERT_TRUE(from_a.ok()) << from_a.error().ToString();
  ASSERT_TRUE(from_b.ok()) << from_b.error().ToString();
  EXPECT_EQ(*from_a, data_);
  EXPECT_EQ(*from_b, data_);
  EXPECT_EQ(opens_.load(), 1) << "the upstream was asked twice";
  EXPECT_EQ(a_.Fills("ok"), 1u);
  EXPECT_EQ(b_.Fills("fleet"), 1u);
  // B keeps the entry as its own: the next request is a plain hit.
  auto hit = b_.cache->Get("npm/tarball", "w/-/w-1.0.0.tgz");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_EQ(ReadAll(***hit), data_);
}

TEST_F(FillerFleetTest, WhenTheHoldersFillFailsTheWaiterFillsItself) {
  Result<std::string> from_a = Status::Internal("not run");
  std::thread a([&] { from_a = Fill(a_, Spec("x/-/x-1.0.0.tgz", /*fail=*/true)); });
  WaitUntilHeld("fill:npm/tarball|x/-/x-1.0.0.tgz");
  Result<std::string> from_b = Fill(b_, Spec("x/-/x-1.0.0.tgz"));
  a.join();
  EXPECT_FALSE(from_a.ok());
  ASSERT_TRUE(from_b.ok()) << from_b.error().ToString();
  EXPECT_EQ(*from_b, data_);
  EXPECT_EQ(opens_.load(), 2);
  EXPECT_EQ(b_.Fills("ok"), 1u);
}

TEST_F(FillerFleetTest, WithoutALeaseEachNodeFillsOnItsOwn) {
  lock_.unavailable = true;  // Redis down: the lock only ever saves work
  auto from_a = Fill(a_, Spec("y/-/y-1.0.0.tgz"));
  ASSERT_TRUE(from_a.ok());
  EXPECT_EQ(*from_a, data_);
  EXPECT_EQ(opens_.load(), 1);
}

TEST_F(FillerFleetTest, MutableDocumentsTakeNoLease) {
  auto got = Fill(a_, Spec("w", /*fail=*/false, /*max_age_ms=*/60'000));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(lock_.acquires(), 0) << "each node revalidates its mutable documents itself";
}

}  // namespace
}  // namespace cellar::core
