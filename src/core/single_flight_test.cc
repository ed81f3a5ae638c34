#include "core/single_flight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "base/status.h"

namespace cellar::core {
namespace {

TEST(SingleFlightTest, ConcurrentCallsForOneKeyRunOnce) {
  SingleFlight<Result<std::string>> flight;
  std::atomic<int> runs{0};
  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  std::vector<std::string> results(16);
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      started++;
      auto r = flight.Do("list", [&]() -> Result<std::string> {
        runs++;
        // Hold the call open until every thread has arrived.
        while (started.load() < 16) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return std::string("v1.0.0\n");
      });
      results[i] = r.ok() ? *r : "error";
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(runs.load(), 1);
  for (const auto& r : results) EXPECT_EQ(r, "v1.0.0\n");
}

TEST(SingleFlightTest, DifferentKeysAndLaterCallsRunAgain) {
  SingleFlight<Result<int>> flight;
  int runs = 0;
  auto fn = [&]() -> Result<int> { return ++runs; };
  EXPECT_EQ(*flight.Do("a", fn), 1);
  EXPECT_EQ(*flight.Do("b", fn), 2);
  EXPECT_EQ(*flight.Do("a", fn), 3);  // the first call for "a" has ended
}

TEST(SingleFlightTest, ErrorsAreSharedToo) {
  SingleFlight<Result<int>> flight;
  auto r = flight.Do("x", []() -> Result<int> { return Status::Unavailable("upstream down"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "upstream down");
}

}  // namespace
}  // namespace cellar::core
