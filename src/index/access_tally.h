// AccessTally: when, and how often, the whole fleet read each shared entry,
// keyed by the entry's object key in the bucket. Nodes record their hits in
// batches (not one write per hit); the bucket's evictor reads the tally to
// rank entries across the fleet. Implementation: redis::RedisAccessTally.
// Without one the evictor ranks entries by creation time alone.
// Thread-safety: every method may be called concurrently; Read and Forget
// block on the network (worker or background threads only).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace cellar::index {

struct AccessCount {
  int64_t last_ms = 0;  // the latest hit any node reported
  uint64_t hits = 0;    // hits reported by all nodes
};

class AccessTally {
 public:
  virtual ~AccessTally() = default;
  // The counts of those of `object_keys` that were hit at all.
  virtual Result<std::unordered_map<std::string, AccessCount>> Read(const std::vector<std::string>& object_keys) = 0;
  // Drops evicted keys from the tally.
  virtual Status Forget(const std::vector<std::string>& object_keys) = 0;
  // Drops every key `keep` says no to: hits of entries the bucket does not
  // hold (never shared, or withdrawn) would otherwise stay forever.
  virtual Status Prune(const std::function<bool(const std::string&)>& keep) = 0;
};

}  // namespace cellar::index
