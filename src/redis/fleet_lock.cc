#include "redis/fleet_lock.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/log.h"

namespace cellar::redis {

class FleetLock::Held {
 public:
  Held(Leases& leases, Lease lease, std::chrono::milliseconds ttl, std::chrono::milliseconds renew_every)
      : leases_(leases), lease_(std::move(lease)) {
    renewer_ = std::thread([this, ttl, renew_every] {
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, renew_every, [&] { return done_; })) {
        lock.unlock();
        Result<bool> renewed = leases_.Renew(lease_, ttl);
        lock.lock();
        if (renewed.ok() && !*renewed) {
          // Expired (a long pause) and perhaps taken: another node may now
          // do the same work. Harmless, only not saved; nothing to renew.
          Log(LogLevel::kWarn, "fleet lease lost while the work ran: " + lease_.key);
          return;
        }
      }
    });
  }
  ~Held() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    renewer_.join();
    (void)leases_.Release(lease_);  // an expired or unreachable lease frees itself
  }

 private:
  Leases& leases_;
  const Lease lease_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread renewer_;
};

FleetLock::FleetLock(Leases& leases, FleetLockOptions options, std::function<void(std::chrono::milliseconds)> sleep)
    : leases_(leases), options_(options), sleep_(std::move(sleep)) {
  if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

FleetLock::Hold FleetLock::Acquire(const std::string& key) {
  Hold hold;
  std::chrono::milliseconds waited{0};
  for (;;) {
    if (stopped_) return hold;
    Result<std::optional<Lease>> got = leases_.TryAcquire(key, options_.ttl);
    if (!got.ok()) return hold;  // Redis unavailable: work without the fleet
    if (*got) {
      hold.lease = std::make_shared<Held>(leases_, **std::move(got), options_.ttl, options_.renew_every);
      return hold;
    }
    hold.waited = true;
    if (waited >= options_.max_wait) {
      Log(LogLevel::kWarn, "gave up waiting for another node's fleet lease: " + key);
      return hold;
    }
    sleep_(options_.poll_every);
    waited += options_.poll_every;
  }
}

}  // namespace cellar::redis
