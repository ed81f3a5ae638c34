// KnownBlobs: remembered with a size, forgotten on request, after the TTL,
// and all at once when full.
#include "store/s3/known_blobs.h"

#include <gtest/gtest.h>

namespace cellar::s3 {
namespace {

Digest D(char c) { return *Digest::FromHex(std::string(64, c)); }

TEST(KnownBlobsTest, KnownWithItsSizeUntilTheTtlOrAForget) {
  env::FakeClock clock;
  KnownBlobs known(clock, 1000, 10);
  EXPECT_FALSE(known.Known(D('a'), 5));
  known.Remember(D('a'), 5);
  EXPECT_TRUE(known.Known(D('a'), 5));
  EXPECT_FALSE(known.Known(D('a'), 6)) << "another size is not this blob whole";
  clock.Advance(std::chrono::milliseconds(999));
  EXPECT_TRUE(known.Known(D('a'), 5));
  clock.Advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(known.Known(D('a'), 5));
  known.Remember(D('b'), 7);
  known.Forget(D('b'));
  EXPECT_FALSE(known.Known(D('b'), 7));
}

TEST(KnownBlobsTest, AFullSetStartsOver) {
  env::FakeClock clock;
  KnownBlobs known(clock, 60'000, 2);
  known.Remember(D('a'), 1);
  known.Remember(D('b'), 1);
  known.Remember(D('b'), 1);  // already there: nothing dropped
  EXPECT_TRUE(known.Known(D('a'), 1));
  known.Remember(D('c'), 1);
  EXPECT_FALSE(known.Known(D('a'), 1));
  EXPECT_FALSE(known.Known(D('b'), 1));
  EXPECT_TRUE(known.Known(D('c'), 1));
  KnownBlobs none(clock, 60'000, 0);
  none.Remember(D('a'), 1);
  EXPECT_FALSE(none.Known(D('a'), 1));
}

}  // namespace
}  // namespace cellar::s3
