#include "core/shared_lookup.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <thread>
#include <vector>

#include "index/mem_shared_entries.h"

namespace cellar::core {
namespace {

using std::chrono::milliseconds;

// Holds every Find until released, counting the calls that reached it.
class HeldSharedEntries final : public index::SharedEntries {
 public:
  Status Publish(const index::Entry& e, index::PutMode m) override { return inner.Publish(e, m); }
  Status Withdraw(const std::string& ns, const std::string& key) override { return inner.Withdraw(ns, key); }
  bool PublishRefusesTakenKeys() const override { return true; }
  Result<std::optional<index::Entry>> Find(const std::string& ns, const std::string& key) override {
    std::unique_lock lock(mu);
    ++calls;
    cv.notify_all();
    cv.wait(lock, [&] { return released; });
    return inner.Find(ns, key);
  }
  void WaitForCalls(int n) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return calls >= n; });
  }
  void Release() {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
  index::MemSharedEntries inner;
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  bool released = false;
};

index::Entry MakeEntry(const std::string& key) {
  index::Entry e;
  e.ns = "turbo/t";
  e.key = key;
  e.size = 3;
  return e;
}

TEST(SharedLookupTest, ConcurrentLookupsOfOneKeyMakeOneRequest) {
  env::FakeClock clock;
  HeldSharedEntries shared;
  ASSERT_TRUE(shared.inner.Publish(MakeEntry("k"), index::PutMode::kOverwrite).ok());
  SharedLookup lookup(shared, clock, {});
  std::vector<std::thread> threads;
  std::atomic<int> found{0};
  auto find = [&] {
    auto r = lookup.Find("turbo/t", "k");
    if (r.ok() && *r) ++found;
  };
  threads.emplace_back(find);
  shared.WaitForCalls(1);  // the first request is in flight and held
  for (int i = 0; i < 8; ++i) threads.emplace_back(find);
  while (lookup.WaitersForTest("turbo/t", "k") < 8) std::this_thread::yield();
  shared.Release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(found.load(), 9);
  EXPECT_EQ(lookup.requests(), 1u);
}

TEST(SharedLookupTest, MissIsRememberedUntilItsTtlAndCanBeForgotten) {
  env::FakeClock clock;
  index::MemSharedEntries shared;
  SharedLookup lookup(shared, clock, SharedLookupOptions{1'000, 100});
  EXPECT_FALSE(*lookup.Find("turbo/t", "k"));
  EXPECT_FALSE(*lookup.Find("turbo/t", "k"));
  EXPECT_EQ(shared.finds(), 1);
  clock.Advance(milliseconds(999));
  EXPECT_FALSE(*lookup.Find("turbo/t", "k"));
  EXPECT_EQ(shared.finds(), 1);
  clock.Advance(milliseconds(1));
  EXPECT_FALSE(*lookup.Find("turbo/t", "k"));
  EXPECT_EQ(shared.finds(), 2);
  ASSERT_TRUE(shared.Publish(MakeEntry("k"), index::PutMode::kOverwrite).ok());
  lookup.ForgetMiss("turbo/t", "k");
  EXPECT_TRUE(*lookup.Find("turbo/t", "k"));
}

TEST(SharedLookupTest, FailureIsReturnedOnceThenRememberedAsAMiss) {
  env::FakeClock clock;
  index::MemSharedEntries shared;
  SharedLookup lookup(shared, clock, {});
  shared.down = true;
  auto first = lookup.Find("turbo/t", "k");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code(), Code::kUnavailable);
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(lookup.Find("turbo/t", "k").ok());
  EXPECT_EQ(shared.finds(), 1);
}

TEST(SharedLookupTest, RememberedMissesAreBounded) {
  env::FakeClock clock;
  index::MemSharedEntries shared;
  SharedLookup lookup(shared, clock, SharedLookupOptions{60'000, 10});
  for (int i = 0; i < 25; ++i) (void)lookup.Find("turbo/t", std::to_string(i));
  // The memory was cleared on the way, so an early key is asked again.
  (void)lookup.Find("turbo/t", "0");
  EXPECT_EQ(shared.finds(), 26);
}

}  // namespace
}  // namespace cellar::core
