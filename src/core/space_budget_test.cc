#include "core/space_budget.h"

#include <gtest/gtest.h>

namespace cellar::core {
namespace {

TEST(SpaceBudgetTest, ReservationsAndStoredBytesShareTheLimit) {
  SpaceBudget budget(SpaceBudgetOptions{1000, nullptr});
  budget.SetStored(600);
  EXPECT_TRUE(budget.TryReserve(300));
  EXPECT_FALSE(budget.TryReserve(101));
  EXPECT_EQ(budget.Shortfall(101), 1u);
  EXPECT_TRUE(budget.TryReserve(100));
  EXPECT_EQ(budget.reserved(), 400u);
  budget.Release(400);
  EXPECT_EQ(budget.reserved(), 0u);
  EXPECT_EQ(budget.Shortfall(400), 0u);
  EXPECT_EQ(budget.Ceiling(), 1000u);
}

TEST(SpaceBudgetTest, FileSystemFreeSpaceLessHeadroomLimitsBelowMaxBytes) {
  DiskSpace disk{3000, 8000};  // headroom: an eighth, 1000
  SpaceBudget budget(SpaceBudgetOptions{1ULL << 30, [&] { return std::optional<DiskSpace>(disk); }});
  budget.SetStored(4000);
  // 4000 stored + 3000 free - 1000 headroom.
  EXPECT_EQ(budget.Limit(), 6000u);
  EXPECT_EQ(budget.Ceiling(), 7000u);
  EXPECT_TRUE(budget.TryReserve(2000));
  EXPECT_FALSE(budget.TryReserve(1));
  // Evicting stored bytes frees as much on disk: the limit stays put.
  budget.SubtractStored(1000);
  disk.free_bytes += 1000;
  EXPECT_EQ(budget.Limit(), 6000u);
  EXPECT_TRUE(budget.TryReserve(1000));
}

TEST(SpaceBudgetTest, HeadroomIsCappedByTheOption) {
  DiskSpace disk{1ULL << 40, 1ULL << 41};
  SpaceBudgetOptions o{1ULL << 50, [&] { return std::optional<DiskSpace>(disk); }, 64ULL << 20};
  SpaceBudget budget(o);
  EXPECT_EQ(budget.Limit(), (1ULL << 40) - (64ULL << 20));
}

TEST(SpaceBudgetTest, DiskFullCapsAtTheStoredSizeUntilTheDiskHasRoomAgain) {
  DiskSpace disk{0, 8000};
  SpaceBudget budget(SpaceBudgetOptions{1ULL << 30, [&] { return std::optional<DiskSpace>(disk); }});
  budget.SetStored(5000);
  budget.NoteDiskFull();
  disk.free_bytes = 1500;  // statvfs may disagree (other writers, quotas)
  EXPECT_EQ(budget.Limit(), 5000u);
  budget.RecheckDisk();
  EXPECT_EQ(budget.Limit(), 5000u);  // 1500 free is less than twice the headroom
  disk.free_bytes = 3000;
  budget.RecheckDisk();
  EXPECT_EQ(budget.Limit(), 7000u);
}

TEST(SpaceBudgetTest, ResyncKeepsBytesAddedWhileTheIndexWasCounted) {
  SpaceBudget budget(SpaceBudgetOptions{1000, nullptr});
  budget.SetStored(100);
  const uint64_t seen = budget.stored();
  budget.AddStored(50);        // a commit while the totals were read
  budget.Resync(120, seen);    // the index counted 120
  EXPECT_EQ(budget.stored(), 170u);
}

}  // namespace
}  // namespace cellar::core
