// Ticker: ticks until stopped, first at once or after an interval, and a
// Stop() during a long wait returns at once.
#include "server/ticker.h"

#include <gtest/gtest.h>

#include <atomic>

namespace cellar::server {
namespace {

using namespace std::chrono_literals;

TEST(TickerTest, TicksAtOnceThenEveryIntervalUntilStopped) {
  std::atomic<int> ticks{0};
  Ticker ticker(5ms, Ticker::First::kAtOnce, [&] { ++ticks; });
  ticker.Start();
  while (ticks < 3) std::this_thread::sleep_for(1ms);
  ticker.Stop();
  const int after_stop = ticks;
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(ticks, after_stop);
  ticker.Stop();  // idempotent
}

TEST(TickerTest, StopEndsALongWaitAtOnce) {
  std::atomic<int> ticks{0};
  Ticker ticker(std::chrono::hours(1), Ticker::First::kAfterAnInterval, [&] { ++ticks; });
  ticker.Start();
  const auto start = std::chrono::steady_clock::now();
  ticker.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(ticks, 0) << "kAfterAnInterval does not tick before the first interval";
}

}  // namespace
}  // namespace cellar::server
