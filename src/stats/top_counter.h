// TopCounter: the most frequent keys of a stream in bounded memory (the
// "space-saving" algorithm): at most `capacity` keys are counted; a new key
// arriving when all slots are taken replaces the key with the smallest count
// and inherits that count, so a key's count is an upper bound, over by at
// most its `error`. Exact while fewer than `capacity` distinct keys came.
// Used for the dashboard's most frequent misses since start.
// Thread-safety: every method may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cellar::stats {

class TopCounter {
 public:
  struct Item {
    std::string key;
    uint64_t count = 0;
    uint64_t error = 0;  // count may exceed the true count by this much
  };
  explicit TopCounter(size_t capacity) : capacity_(capacity) {}
  void Add(std::string_view key);
  // The n largest counts, largest first (ties by key).
  std::vector<Item> Top(size_t n) const;

 private:
  struct Slot {
    uint64_t count = 0;
    uint64_t error = 0;
    std::multimap<uint64_t, std::string>::iterator by_count;
  };
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;        // GUARDED_BY(mu_)
  std::multimap<uint64_t, std::string> by_count_;      // GUARDED_BY(mu_): count -> key, smallest first
};

}  // namespace cellar::stats
