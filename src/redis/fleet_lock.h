// FleetLock: "one node of the fleet at a time" for a piece of work (fetching
// a git repository from its upstream), built on Leases.
//
// Hold() waits until this node holds the lease on the key, renews it in the
// background while the Hold object lives, and releases it when the last
// copy of the Hold goes (a Hold is a shared_ptr, so work that continues
// elsewhere, such as publishing what was fetched, can keep it). When the
// lease cannot be had in `max_wait`, or Leases says Redis is unavailable,
// Hold() returns an empty Hold and the caller does the work anyway: Redis
// only ever saves work (docs/redis.md). `waited()` on the result tells the
// caller another node held the key meanwhile, so the work may be done.
// Thread-safety: any thread; Hold() blocks, so never on an I/O thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "redis/leases.h"

namespace cellar::redis {

struct FleetLockOptions {
  std::chrono::milliseconds ttl{30'000};            // a holder that dies frees the key after this
  std::chrono::milliseconds renew_every{10'000};
  std::chrono::milliseconds poll_every{200};        // while another node holds the key
  std::chrono::milliseconds max_wait{30 * 60'000};  // then do the work anyway
};

class FleetLock {
 public:
  class Held;  // owns the lease; renews it; releases it when destroyed
  struct Hold {
    std::shared_ptr<Held> lease;  // null: not held (Redis down, or waited too long)
    bool waited = false;          // another node held the key while we waited
  };

  // `sleep` is how Hold() waits between polls (a fake in tests).
  FleetLock(Leases& leases, FleetLockOptions options,
            std::function<void(std::chrono::milliseconds)> sleep = nullptr);

  Hold Acquire(const std::string& key);

  // Makes every Acquire() waiting now or later return at once, without the
  // lease (server shutdown must not wait for another node's work).
  void Stop() { stopped_ = true; }

 private:
  Leases& leases_;
  const FleetLockOptions options_;
  std::function<void(std::chrono::milliseconds)> sleep_;
  std::atomic<bool> stopped_{false};
};

}  // namespace cellar::redis
