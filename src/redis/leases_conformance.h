// The behaviour every Leases implementation must have, as a typed test
// suite: FakeLeases runs it in leases_test.cc with a fake clock, RedisLeases
// in redis_real_test.cc against a real redis-server with real time.
//
// A fixture provides: `Leases& leases()`, and `void Wait(ms)` that lets
// that much time pass for the implementation.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "redis/leases.h"

namespace cellar::redis {

using std::chrono::milliseconds;

template <typename Fixture>
class LeasesConformance : public Fixture {};
TYPED_TEST_SUITE_P(LeasesConformance);

TYPED_TEST_P(LeasesConformance, OneHolderAtATime) {
  Leases& leases = this->leases();
  Result<std::optional<Lease>> first = leases.TryAcquire("fill/npm/left-pad", milliseconds(10'000));
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_TRUE(*first);
  Result<std::optional<Lease>> second = leases.TryAcquire("fill/npm/left-pad", milliseconds(10'000));
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  Result<std::optional<Lease>> other = leases.TryAcquire("fill/npm/right-pad", milliseconds(10'000));
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(*other) << "a lease on one key must not hold another";
  ASSERT_TRUE(leases.Release(**first).value());
  Result<std::optional<Lease>> after = leases.TryAcquire("fill/npm/left-pad", milliseconds(10'000));
  ASSERT_TRUE(after.ok());
  ASSERT_TRUE(*after);
  EXPECT_NE((*after)->token, (*first)->token);
}

TYPED_TEST_P(LeasesConformance, AnExpiredLeaseIsFreeAndItsOldHolderCanNeitherRenewNorRelease) {
  Leases& leases = this->leases();
  std::optional<Lease> old = leases.TryAcquire("git/example", milliseconds(200)).value();
  ASSERT_TRUE(old);
  this->Wait(milliseconds(400));
  std::optional<Lease> taker = leases.TryAcquire("git/example", milliseconds(10'000)).value();
  ASSERT_TRUE(taker) << "the holder died: its lease must expire";
  EXPECT_FALSE(leases.Renew(*old, milliseconds(10'000)).value());
  EXPECT_FALSE(leases.Release(*old).value());
  // The new holder's lease is untouched by the old holder's attempts.
  EXPECT_FALSE(leases.TryAcquire("git/example", milliseconds(10'000)).value());
  EXPECT_TRUE(leases.Release(*taker).value());
  EXPECT_FALSE(leases.Release(*taker).value()) << "a second release finds nothing";
}

TYPED_TEST_P(LeasesConformance, RenewingKeepsALeasePastItsFirstTtl) {
  Leases& leases = this->leases();
  std::optional<Lease> lease = leases.TryAcquire("go/zip", milliseconds(300)).value();
  ASSERT_TRUE(lease);
  for (int i = 0; i < 3; ++i) {
    this->Wait(milliseconds(150));
    ASSERT_TRUE(leases.Renew(*lease, milliseconds(300)).value()) << "renewal " << i;
  }
  EXPECT_FALSE(leases.TryAcquire("go/zip", milliseconds(300)).value());
  EXPECT_TRUE(leases.Release(*lease).value());
}

TYPED_TEST_P(LeasesConformance, ConcurrentAcquirersGetExactlyOneLease) {
  Leases& leases = this->leases();
  constexpr int kThreads = 16;
  std::vector<std::thread> threads;
  std::vector<int> won(kThreads, 0);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Result<std::optional<Lease>> got = leases.TryAcquire("hot-key", milliseconds(10'000));
      won[i] = got.ok() && *got ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  int winners = 0;
  for (int w : won) winners += w;
  EXPECT_EQ(winners, 1);
}

TYPED_TEST_P(LeasesConformance, KeysAreBinarySafe) {
  Leases& leases = this->leases();
  static constexpr char kRaw[] = "npm/@scope/name with space\n\0x";  // a NUL inside
  const std::string key(kRaw, sizeof kRaw - 1);
  std::optional<Lease> lease = leases.TryAcquire(key, milliseconds(10'000)).value();
  ASSERT_TRUE(lease);
  EXPECT_FALSE(leases.TryAcquire(key, milliseconds(10'000)).value());
  ASSERT_EQ(key.size(), 29u);
  EXPECT_TRUE(leases.TryAcquire(key.substr(0, key.size() - 1), milliseconds(10'000)).value())
      << "a prefix is another key";
  EXPECT_EQ(leases.TryAcquire(key, milliseconds(0)).status().code(), Code::kInvalidArgument);
}

REGISTER_TYPED_TEST_SUITE_P(LeasesConformance, OneHolderAtATime,
                            AnExpiredLeaseIsFreeAndItsOldHolderCanNeitherRenewNorRelease,
                            RenewingKeepsALeasePastItsFirstTtl, ConcurrentAcquirersGetExactlyOneLease,
                            KeysAreBinarySafe);

}  // namespace cellar::redis
