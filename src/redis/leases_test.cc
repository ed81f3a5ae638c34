#include "redis/leases.h"

#include <gtest/gtest.h>

#include "redis/leases_conformance.h"

namespace cellar::redis {
namespace {

class FakeLeasesFixture : public testing::Test {
 protected:
  Leases& leases() { return leases_; }
  void Wait(std::chrono::milliseconds d) { clock_.Advance(d); }

  env::FakeClock clock_;
  FakeLeases leases_{clock_};
};

INSTANTIATE_TYPED_TEST_SUITE_P(Fake, LeasesConformance, FakeLeasesFixture);

TEST(FakeLeasesTest, DownMeansUnavailableForEveryCall) {
  env::FakeClock clock;
  FakeLeases leases(clock);
  std::optional<Lease> lease = leases.TryAcquire("k", std::chrono::milliseconds(1000)).value();
  ASSERT_TRUE(lease);
  leases.SetUnavailable(true);
  EXPECT_EQ(leases.TryAcquire("x", std::chrono::milliseconds(1000)).status().code(), Code::kUnavailable);
  EXPECT_EQ(leases.Renew(*lease, std::chrono::milliseconds(1000)).status().code(), Code::kUnavailable);
  EXPECT_EQ(leases.Release(*lease).status().code(), Code::kUnavailable);
  leases.SetUnavailable(false);
  EXPECT_TRUE(leases.Release(*lease).value());
}

TEST(LeaseTokenTest, TokensAre32HexCharactersAndDiffer) {
  std::string a = NewLeaseToken(), b = NewLeaseToken();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace cellar::redis
