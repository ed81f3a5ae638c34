#include "server/reachability_probe.h"

#include <gtest/gtest.h>

#include <vector>

namespace cellar::server {
namespace {

using namespace std::chrono_literals;

class ReachabilityProbeTest : public ::testing::Test {
 protected:
  // Holds scheduled checks until the test runs them, as a busy pool would.
  ReachabilityProbe::Schedule Later() {
    return [this](std::function<void()> fn) { pending_.push_back(std::move(fn)); };
  }
  void RunPending() {
    auto jobs = std::move(pending_);
    pending_.clear();
    for (auto& job : jobs) job();
  }

  env::FakeClock clock_;
  Status bucket_;  // what the next check finds
  int checks_ = 0;
  ReachabilityProbe probe_{[this] {
                             ++checks_;
                             return bucket_;
                           },
                           clock_, 5000ms};
  std::vector<std::function<void()>> pending_;
};

TEST_F(ReachabilityProbeTest, AnswersAtOnceAndChecksInTheBackgroundAtMostOncePerPeriod) {
  EXPECT_TRUE(probe_.Current(Later()).ok());  // before any check: checked at start-up
  EXPECT_TRUE(probe_.Current(Later()).ok());
  EXPECT_EQ(pending_.size(), 1u) << "one check at a time";
  bucket_ = Status::Unavailable("connection refused");
  RunPending();
  EXPECT_EQ(checks_, 1);
  EXPECT_EQ(probe_.Current(Later()).code(), Code::kUnavailable);  // the outcome, no new check yet
  EXPECT_TRUE(pending_.empty());
  clock_.Advance(5000ms);
  bucket_ = Status();
  EXPECT_EQ(probe_.Current(Later()).code(), Code::kUnavailable);  // stale: answered, and rechecked
  ASSERT_EQ(pending_.size(), 1u);
  RunPending();
  EXPECT_TRUE(probe_.Current(Later()).ok());
  EXPECT_EQ(checks_, 2);
}

TEST_F(ReachabilityProbeTest, AScheduledCheckMayOutliveTheCallThatStartedIt) {
  { (void)probe_.Current(Later()); }
  bucket_ = Status::Unavailable("timed out");
  RunPending();  // after Current() returned
  EXPECT_FALSE(probe_.Current(Later()).ok());
}

}  // namespace
}  // namespace cellar::server
