#include "stats/top_counter.h"

#include <gtest/gtest.h>

namespace cellar::stats {
namespace {

TEST(TopCounterTest, ExactBelowCapacity) {
  TopCounter top(10);
  for (int i = 0; i < 5; ++i) top.Add("a");
  for (int i = 0; i < 3; ++i) top.Add("b");
  top.Add("c");
  auto items = top.Top(2);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].key, "a");
  EXPECT_EQ(items[0].count, 5u);
  EXPECT_EQ(items[0].error, 0u);
  EXPECT_EQ(items[1].key, "b");
  EXPECT_EQ(items[1].count, 3u);
}

TEST(TopCounterTest, HeavyHittersSurviveAStreamOfOneOffKeysInBoundedMemory) {
  TopCounter top(50);
  for (int round = 0; round < 100; ++round) {
    top.Add("hot");
    if (round % 2 == 0) top.Add("warm");
    for (int i = 0; i < 20; ++i) top.Add("once-" + std::to_string(round * 20 + i));
  }
  auto items = top.Top(2);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].key, "hot");
  EXPECT_GE(items[0].count, 100u);
  EXPECT_LE(items[0].count - items[0].error, 100u);  // the bound holds
  EXPECT_EQ(items[1].key, "warm");
  EXPECT_EQ(top.Top(1000).size(), 50u);
}

}  // namespace
}  // namespace cellar::stats
