// RedisAccessTally: index::AccessTally in Redis, so the bucket's evictor
// ranks entries by every node's hits. Record() notes a hit in memory; Flush()
// sends all hits noted since the last flush in one script (ZADD GT of the
// latest time, ZINCRBY of the count, into two sorted sets), so a hot entry
// costs Redis one update per flush interval and node, not one per hit.
// Hits noted while Redis is down wait for the next flush (at most
// `max_pending` keys; more are dropped and counted). Keys nobody hit for
// `horizon` leave the tally at a flush, so it stays bounded even when no
// node runs the evictor (which prunes it too).
// Thread-safety: every method may be called concurrently; Record never
// blocks on the network, the others do (background threads only).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "env/clock.h"
#include "index/access_tally.h"
#include "redis/redis_client.h"

namespace cellar::redis {

class RedisAccessTally final : public index::AccessTally {
 public:
  // Keys are `<prefix>access:last` and `<prefix>access:hits`.
  RedisAccessTally(RedisClient& client, std::string prefix, const env::Clock& clock,
                   std::chrono::milliseconds horizon = std::chrono::hours(24 * 30), size_t max_pending = 100'000);

  void Record(const std::string& object_key, int64_t now_ms);
  Status Flush();
  uint64_t dropped() const;

  Result<std::unordered_map<std::string, index::AccessCount>> Read(const std::vector<std::string>& object_keys) override;
  Status Forget(const std::vector<std::string>& object_keys) override;
  // Walks the tally with ZSCAN (1000 at a time), removing what `keep` refuses.
  Status Prune(const std::function<bool(const std::string&)>& keep) override;

 private:
  RedisClient& client_;
  const env::Clock& clock_;
  const std::string last_key_;
  const std::string hits_key_;
  const std::chrono::milliseconds horizon_;
  const size_t max_pending_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, index::AccessCount> pending_;  // GUARDED_BY(mu_)
  uint64_t dropped_ = 0;                                          // GUARDED_BY(mu_)
};

}  // namespace cellar::redis
