// ReachabilityProbe: "can this node reach its bucket?" for /readyz, without
// making a readiness probe wait on the network. The answer is the outcome
// of the last check; an answer older than `max_age` starts a new check
// through `schedule` (the worker pool), and whoever asks meanwhile gets the
// previous outcome. At most one check runs at a time. Until the first check
// completes the answer is "reachable": start-up checked the bucket already.
// Thread-safety: Current() may be called concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "base/status.h"
#include "env/clock.h"

namespace cellar::server {

class ReachabilityProbe {
 public:
  using Check = std::function<Status()>;
  // Runs a function somewhere other than the calling (I/O) thread.
  using Schedule = std::function<void(std::function<void()>)>;

  // `check` and `clock` must outlive every check `schedule` runs.
  ReachabilityProbe(Check check, const env::Clock& clock, std::chrono::milliseconds max_age);

  // The last check's outcome; schedules a new check when it is stale.
  Status Current(const Schedule& schedule);

 private:
  struct State;
  const Check check_;
  const env::Clock& clock_;
  const int64_t max_age_ms_;
  // Shared with the scheduled checks, which may finish after a caller left.
  std::shared_ptr<State> state_;
};

}  // namespace cellar::server
