// HotEntries: copies of the bucket's entry manifests where every node of a
// fleet reads them faster than from the bucket (Redis), so the first lookup
// of an entry on a node that lacks it (an artifact another node wrote, a
// package another node filled) costs a Redis GET instead of an S3 GET.
// Copies are written when a node publishes a manifest or reads one from the
// bucket, expire after a while, and are dropped when the entry is withdrawn
// or evicted.
//
// A cache, never the truth: a copy that cannot be read (Redis down) or is
// damaged means "ask the bucket". An immutable entry's copy that outlives
// its manifest names bytes that are still right; the blob may be gone,
// which a reader treats as a miss (docs/redis.md). A mutable document's
// copy is replaced with every publish; one left behind (a failed write)
// carries its own fetch time, so it is served only while that copy would
// be fresh anyway.
//
// Implementations: redis::RedisHotEntries; MemHotEntries below for tests.
// Thread-safety: every method may be called concurrently. Calls may block on
// the network: worker or background threads only, never an I/O thread.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/status.h"

namespace cellar::index {

class HotEntries {
 public:
  virtual ~HotEntries() = default;
  // The copy of the manifest at `object_key`, nullopt when none.
  virtual Result<std::optional<std::string>> Get(const std::string& object_key) = 0;
  virtual Status Put(const std::string& object_key, const std::string& manifest) = 0;
  // Absent is OK.
  virtual Status Drop(const std::string& object_key) = 0;
};

class MemHotEntries final : public HotEntries {
 public:
  Result<std::optional<std::string>> Get(const std::string& object_key) override {
    std::lock_guard lock(mu_);
    if (unavailable_) return Status::Unavailable("hot entries: down (test)");
    auto it = copies_.find(object_key);
    if (it == copies_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Put(const std::string& object_key, const std::string& manifest) override {
    std::lock_guard lock(mu_);
    if (unavailable_) return Status::Unavailable("hot entries: down (test)");
    copies_[object_key] = manifest;
    return Status::Ok();
  }
  Status Drop(const std::string& object_key) override {
    std::lock_guard lock(mu_);
    if (unavailable_) return Status::Unavailable("hot entries: down (test)");
    copies_.erase(object_key);
    return Status::Ok();
  }

  // Every call fails with kUnavailable, as with Redis down.
  void SetUnavailable(bool unavailable) {
    std::lock_guard lock(mu_);
    unavailable_ = unavailable;
  }
  std::map<std::string, std::string> CopiesForTest() {
    std::lock_guard lock(mu_);
    return copies_;
  }
  void SetCopyForTest(const std::string& object_key, const std::string& manifest) {
    std::lock_guard lock(mu_);
    copies_[object_key] = manifest;
  }

 private:
  std::mutex mu_;
  bool unavailable_ = false;                   // GUARDED_BY(mu_)
  std::map<std::string, std::string> copies_;  // GUARDED_BY(mu_)
};

}  // namespace cellar::index
