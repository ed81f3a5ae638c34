#include "protocols/git/cron.h"

#include <gtest/gtest.h>

namespace cellar::git {
namespace {

// 2026-11-30 09:27:00 UTC, a Monday.
constexpr int64_t kMonday = 1796030820;

TEST(Cron, EveryThirtyMinutes) {
  auto c = CronSchedule::Parse("*/30 * * * *");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->Next(kMonday), kMonday + 3 * 60);        // 09:30
  EXPECT_EQ(c->Next(kMonday + 3 * 60), kMonday + 33 * 60);  // 10:00
}

TEST(Cron, DailyAtAFixedTimeAndWeekdays) {
  auto daily = CronSchedule::Parse("15 2 * * *");
  ASSERT_TRUE(daily.ok());
  EXPECT_EQ(daily->Next(kMonday), kMonday + (16 * 60 + 48) * 60);  // Tue 02:15
  auto weekdays = CronSchedule::Parse("0 9 * * 1-5");
  ASSERT_TRUE(weekdays.ok());
  EXPECT_EQ(weekdays->Next(kMonday), kMonday + (23 * 60 + 33) * 60);  // Tue 09:00
  auto sunday = CronSchedule::Parse("0 0 * * 7");
  ASSERT_TRUE(sunday.ok());
  EXPECT_EQ(sunday->Next(kMonday), kMonday + ((5 * 24 + 14) * 60 + 33) * 60);  // Sun 00:00
}

TEST(Cron, ListsRangesAndSteps) {
  auto c = CronSchedule::Parse("0,45 8-10/2 * * *");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->Next(kMonday), kMonday + 33 * 60);  // 10:00
  EXPECT_EQ(c->Next(kMonday + 33 * 60), kMonday + 78 * 60);  // 10:45
}

TEST(Cron, BadExpressionsSayWhy) {
  EXPECT_FALSE(CronSchedule::Parse("* * * *").ok());
  EXPECT_FALSE(CronSchedule::Parse("60 * * * *").ok());
  EXPECT_FALSE(CronSchedule::Parse("5-1 * * * *").ok());
  EXPECT_FALSE(CronSchedule::Parse("*/0 * * * *").ok());
  auto bad = CronSchedule::Parse("x * * * *");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("'x'"), std::string::npos);
}

}  // namespace
}  // namespace cellar::git
