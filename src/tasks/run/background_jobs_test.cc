#include "tasks/run/background_jobs.h"

#include <gtest/gtest.h>

#include <atomic>

namespace cellar::tasks {
namespace {

using namespace std::chrono_literals;

TEST(BackgroundJobsTest, RunsEveryJobInParallelAndWaits) {
  std::atomic<int> done{0}, in_flight{0}, max_in_flight{0};
  BackgroundJobs jobs(3);
  for (int i = 0; i < 9; ++i) {
    jobs.Add([&] {
      int now = ++in_flight;
      int seen = max_in_flight.load();
      while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(10ms);
      --in_flight;
      ++done;
    });
  }
  EXPECT_EQ(jobs.WaitFor(5s), 0u);
  EXPECT_EQ(done.load(), 9);
  EXPECT_EQ(max_in_flight.load(), 3);
}

TEST(BackgroundJobsTest, WaitIsBoundedAndDropsQueuedJobs) {
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto started = std::make_shared<std::atomic<int>>(0);
  auto jobs = std::make_unique<BackgroundJobs>(1);
  for (int i = 0; i < 3; ++i) {
    jobs->Add([release, started] {
      ++*started;
      while (!*release) std::this_thread::sleep_for(1ms);
    });
  }
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(jobs->WaitFor(50ms), 3u);  // one running, two queued
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  jobs.reset();  // does not block on the running job
  *release = true;
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(started->load(), 1);  // the queued ones never ran
}

TEST(BackgroundJobsTest, NoJobsNoWait) {
  BackgroundJobs jobs(2);
  EXPECT_EQ(jobs.WaitFor(0ms), 0u);
}

}  // namespace
}  // namespace cellar::tasks
