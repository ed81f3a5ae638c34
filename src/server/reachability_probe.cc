#include "server/reachability_probe.h"

#include <limits>
#include <mutex>

namespace cellar::server {

struct ReachabilityProbe::State {
  std::mutex mu;
  Status last;                                               // GUARDED_BY(mu)
  int64_t checked_at_ms = std::numeric_limits<int64_t>::min();  // GUARDED_BY(mu); min: never
  bool checking = false;                                      // GUARDED_BY(mu)
};

ReachabilityProbe::ReachabilityProbe(Check check, const env::Clock& clock, std::chrono::milliseconds max_age)
    : check_(std::move(check)), clock_(clock), max_age_ms_(max_age.count()), state_(std::make_shared<State>()) {}

Status ReachabilityProbe::Current(const Schedule& schedule) {
  const int64_t now = clock_.NowUnixMs();
  Status answer;
  {
    std::lock_guard lock(state_->mu);
    answer = state_->last;
    const bool stale = state_->checked_at_ms == std::numeric_limits<int64_t>::min() ||
                       now - state_->checked_at_ms >= max_age_ms_;
    if (!stale || state_->checking) return answer;
    state_->checking = true;
  }
  schedule([state = state_, check = &check_, clock = &clock_] {
    Status outcome = (*check)();
    std::lock_guard lock(state->mu);
    state->last = std::move(outcome);
    state->checked_at_ms = clock->NowUnixMs();
    state->checking = false;
  });
  return answer;
}

}  // namespace cellar::server
