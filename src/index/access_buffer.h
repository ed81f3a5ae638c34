// AccessBuffer: the in-memory side of Index::RecordAccess. It folds hits on
// the same (namespace, key) into one pending update (latest access time, hit
// count) so that Flush() writes each entry once, however hot it is. Shared by
// SqliteIndex and MemIndex.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace cellar::index {

class AccessBuffer {
 public:
  struct Key {
    std::string ns;
    std::string key;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept {
      size_t h = std::hash<std::string>()(k.ns);
      return h ^ (std::hash<std::string>()(k.key) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
    }
  };
  struct Pending {
    int64_t last_access_ms = 0;  // latest access seen
    uint64_t hits = 0;           // accesses since the last flush
  };
  using Batch = std::unordered_map<Key, Pending, KeyHash>;

  void Record(const std::string& ns, const std::string& key, int64_t now_ms) {
    std::lock_guard lock(mu_);
    Merge(Key{ns, key}, Pending{now_ms, 1});
  }

  // Removes and returns everything buffered so far.
  Batch Take() {
    std::lock_guard lock(mu_);
    return std::exchange(pending_, Batch());
  }

  // Puts back a batch whose flush failed, so no hit is lost; merging keeps
  // the later time and adds the counts of anything recorded meanwhile.
  void Restore(Batch batch) {
    std::lock_guard lock(mu_);
    for (auto& [key, pending] : batch) Merge(key, pending);
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return pending_.size();
  }

 private:
  // REQUIRES: mu_ held.
  void Merge(const Key& key, const Pending& update) {
    auto [it, inserted] = pending_.try_emplace(key, update);
    if (inserted) return;
    it->second.last_access_ms = std::max(it->second.last_access_ms, update.last_access_ms);
    it->second.hits += update.hits;
  }

  mutable std::mutex mu_;
  Batch pending_;  // guarded by mu_
};

}  // namespace cellar::index
