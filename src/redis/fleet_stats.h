// FleetStats: every node's totals in Redis, so /api/v1/stats and /metrics
// can show the fleet's as well as the node's own. A node writes a snapshot
// of its totals (a hash per node, expiring after `ttl`, and its id in a
// sorted set by time) and reads all live snapshots back with one script.
// A node that stops writing (stopped, killed, cut off from Redis) drops out
// once its snapshot is older than `ttl`.
//
// Redis is an accelerator here too: with Redis down there are no fleet
// totals, and nothing else changes. Calls block on Redis: background or
// worker threads only. Thread-safe (the client is).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/clock.h"
#include "redis/redis_client.h"

namespace cellar::redis {

struct NodeTotals {
  std::string node;
  uint64_t entries = 0;
  uint64_t blobs = 0;
  uint64_t stored_bytes = 0;  // the node's local tier
  uint64_t max_bytes = 0;
  int64_t at_ms = 0;  // when the node wrote it (its own clock)
};

// The sum over `nodes`; `node` names how many ("3 nodes").
NodeTotals SumOf(const std::vector<NodeTotals>& nodes);

class FleetStats {
 public:
  // Keys are `<prefix>stats:...`; the prefix separates fleets sharing a Redis.
  FleetStats(RedisClient& client, std::string prefix, std::chrono::milliseconds ttl, const env::Clock& clock);

  // Writes this node's snapshot (totals.node names it; at_ms is set here).
  Status Publish(NodeTotals totals);
  // Every snapshot younger than ttl, sorted by node id (at most 1000).
  Result<std::vector<NodeTotals>> Read();

 private:
  RedisClient& client_;
  const std::string prefix_;
  const std::chrono::milliseconds ttl_;
  const env::Clock& clock_;
};

}  // namespace cellar::redis
