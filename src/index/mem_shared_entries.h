// MemSharedEntries: SharedEntries in memory, the fake for unit tests. Several
// CacheServices given one instance behave like nodes on one bucket. Adds a
// switch that makes every call fail as an unreachable bucket would, counts
// of the calls made, and the threads that made them (a test checks that no
// call came from an I/O thread: the real store blocks on the network).
// Thread-safety: every method may be called concurrently (one mutex).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "index/shared_entries.h"

namespace cellar::index {

class MemSharedEntries final : public SharedEntries {
 public:
  Status Publish(const Entry& entry, PutMode mode) override;
  Result<std::optional<Entry>> Find(const std::string& ns, const std::string& key) override;
  Status Withdraw(const std::string& ns, const std::string& key) override;
  bool PublishRefusesTakenKeys() const override { return publish_refuses_taken_keys; }

  // While true, every call fails with kUnavailable and changes nothing.
  std::atomic<bool> down{false};
  // What PublishRefusesTakenKeys() answers: false plays a store whose
  // publishes are deferred (the outbox), though they still take effect now.
  bool publish_refuses_taken_keys = true;
  int finds() const;
  int publishes() const;
  size_t size() const;
  // The threads that called Publish, Find or Withdraw.
  std::set<std::thread::id> caller_threads() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> entries_;  // GUARDED_BY(mu_)
  int finds_ = 0;                                                 // GUARDED_BY(mu_)
  int publishes_ = 0;                                             // GUARDED_BY(mu_)
  std::set<std::thread::id> callers_;                             // GUARDED_BY(mu_)
};

}  // namespace cellar::index
