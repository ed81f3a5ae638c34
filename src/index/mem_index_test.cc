// MemIndex-specific behaviour; the shared contract is checked by
// index_conformance_test.cc.
#include "index/mem_index.h"

#include <gtest/gtest.h>

#include <chrono>

namespace cellar::index {
namespace {

TEST(MemIndexTest, DefaultClockStampsUnreferencedBlobsWithWallTime) {
  MemIndex index;
  Entry e;
  e.ns = "ns";
  e.key = "k";
  e.digest.bytes[0] = 1;
  ASSERT_TRUE(index.Put(e, 1, PutMode::kOverwrite).ok());
  int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  ASSERT_TRUE(index.Delete("ns", "k").ok());
  // Unreferenced since about now: not before `before`, and well before a day from now.
  EXPECT_TRUE(index.UnreferencedBlobs(before, 10)->empty());
  EXPECT_EQ(index.UnreferencedBlobs(before + 86'400'000, 10)->size(), 1u);
}

}  // namespace
}  // namespace cellar::index
