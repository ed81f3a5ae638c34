// SingleFlight: concurrent calls for one key share one execution. The first
// caller runs the function; callers arriving while it runs wait and get a
// copy of its result. Used to coalesce refreshes of mutable documents (a Go
// @v/list, a checksum-database tree head) so a stale entry under load makes
// one upstream request, not one per client.
// Thread-safety: Do() may be called from any thread; it blocks.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace cellar::core {

template <typename T>
class SingleFlight {
 public:
  // Runs `fn` unless a call for `key` is already running, in which case it
  // waits for that call's result.
  T Do(const std::string& key, const std::function<T()>& fn) {
    std::shared_ptr<Call> call;
    bool leader = false;
    {
      std::lock_guard lock(mu_);
      auto& slot = calls_[key];
      if (!slot) {
        slot = std::make_shared<Call>();
        leader = true;
      } else {
        ++slot->waiters;
      }
      call = slot;
    }
    if (leader) {
      T result = fn();
      {
        std::lock_guard lock(mu_);
        calls_.erase(key);
      }
      std::lock_guard lock(call->mu);
      call->result = result;
      call->cv.notify_all();
      return result;
    }
    std::unique_lock lock(call->mu);
    call->cv.wait(lock, [&] { return call->result.has_value(); });
    return *call->result;
  }

  // Callers waiting for the call for `key` now running (0 when none runs).
  int WaitersForTest(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = calls_.find(key);
    return it == calls_.end() ? 0 : it->second->waiters;
  }

 private:
  struct Call {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<T> result;  // GUARDED_BY(mu)
    int waiters = 0;          // GUARDED_BY(SingleFlight::mu_)
  };
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Call>> calls_;  // GUARDED_BY(mu_)
};

}  // namespace cellar::core
