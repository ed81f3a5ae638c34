#include "redis/fleet_lock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace cellar::redis {
namespace {

using std::chrono::milliseconds;

class FleetLockTest : public testing::Test {
 protected:
  FleetLockOptions Options() {
    FleetLockOptions o;
    o.ttl = milliseconds(1000);
    o.renew_every = milliseconds(5);
    o.poll_every = milliseconds(100);
    o.max_wait = milliseconds(1000);
    return o;
  }
  // The fake sleep advances the fake clock, as real time would pass.
  std::function<void(milliseconds)> Sleep() {
    return [this](milliseconds d) {
      clock_.Advance(d);
      ++sleeps_;
    };
  }

  env::FakeClock clock_;
  FakeLeases leases_{clock_};
  int sleeps_ = 0;
};

TEST_F(FleetLockTest, AFreeKeyIsHeldAtOnceAndReleasedWithTheLastCopy) {
  FleetLock lock(leases_, Options(), Sleep());
  FleetLock::Hold hold = lock.Acquire("git:repo");
  ASSERT_TRUE(hold.lease);
  EXPECT_FALSE(hold.waited);
  auto copy = hold.lease;  // e.g. kept until a publish ends
  hold.lease.reset();
  EXPECT_FALSE(leases_.TryAcquire("git:repo", milliseconds(1000)).value()) << "a copy still holds it";
  copy.reset();
  EXPECT_TRUE(leases_.TryAcquire("git:repo", milliseconds(1000)).value()) << "released with the last copy";
}

TEST_F(FleetLockTest, WaitsForAnotherHolderThenHoldsIt) {
  FleetLock lock(leases_, Options(), Sleep());
  std::optional<Lease> other = leases_.TryAcquire("git:repo", milliseconds(350)).value();
  ASSERT_TRUE(other);  // another node, which dies: its lease expires
  FleetLock::Hold hold = lock.Acquire("git:repo");
  EXPECT_TRUE(hold.lease);
  EXPECT_TRUE(hold.waited);
  EXPECT_EQ(sleeps_, 4);  // 100 ms polls until the 350 ms lease expired
}

TEST_F(FleetLockTest, GivesUpAfterMaxWaitAndWorksWithoutIt) {
  FleetLock lock(leases_, Options(), Sleep());
  std::optional<Lease> other = leases_.TryAcquire("git:repo", milliseconds(60'000)).value();
  ASSERT_TRUE(other);
  FleetLock::Hold hold = lock.Acquire("git:repo");
  EXPECT_FALSE(hold.lease);
  EXPECT_TRUE(hold.waited);
  EXPECT_EQ(sleeps_, 10);
}

TEST_F(FleetLockTest, StopEndsAWaitAtOnce) {
  FleetLock* lock_ptr = nullptr;
  FleetLock lock(leases_, Options(), [&](milliseconds d) {
    clock_.Advance(d);
    if (++sleeps_ == 2) lock_ptr->Stop();  // shutdown while waiting
  });
  lock_ptr = &lock;
  ASSERT_TRUE(leases_.TryAcquire("git:repo", milliseconds(60'000)).value());
  FleetLock::Hold hold = lock.Acquire("git:repo");
  EXPECT_FALSE(hold.lease);
  EXPECT_EQ(sleeps_, 2);
  EXPECT_FALSE(lock.Acquire("git:other").lease) << "a stopped lock hands out nothing";
}

TEST_F(FleetLockTest, RedisDownMeansNoLockAndNoWait) {
  leases_.SetUnavailable(true);
  FleetLock lock(leases_, Options(), Sleep());
  FleetLock::Hold hold = lock.Acquire("git:repo");
  EXPECT_FALSE(hold.lease);
  EXPECT_FALSE(hold.waited);
  EXPECT_EQ(sleeps_, 0);
}

// Counts renewals, so a test can wait for one instead of for time.
class CountingLeases final : public Leases {
 public:
  explicit CountingLeases(Leases& inner) : inner_(inner) {}
  Result<std::optional<Lease>> TryAcquire(std::string_view key, milliseconds ttl) override {
    return inner_.TryAcquire(key, ttl);
  }
  Result<bool> Renew(const Lease& lease, milliseconds ttl) override {
    Result<bool> r = inner_.Renew(lease, ttl);
    ++renewals;
    return r;
  }
  Result<bool> Release(const Lease& lease) override { return inner_.Release(lease); }
  std::atomic<int> renewals{0};

 private:
  Leases& inner_;
};

TEST_F(FleetLockTest, AHeldLeaseIsRenewedPastItsTtl) {
  CountingLeases counting(leases_);
  FleetLockOptions o = Options();
  o.ttl = milliseconds(200);
  FleetLock lock(counting, o, Sleep());
  FleetLock::Hold hold = lock.Acquire("git:repo");
  ASSERT_TRUE(hold.lease);
  // Time moves on only after a renewal, in steps shorter than the TTL.
  for (int i = 0; i < 10; ++i) {
    const int before = counting.renewals.load();
    for (int spin = 0; spin < 5000 && counting.renewals.load() == before; ++spin) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    ASSERT_GT(counting.renewals.load(), before) << "no renewal within 5 s";
    clock_.Advance(milliseconds(100));
  }
  EXPECT_FALSE(leases_.TryAcquire("git:repo", milliseconds(1000)).value()) << "1 s past a 200 ms TTL, still held";
}

}  // namespace
}  // namespace cellar::redis
