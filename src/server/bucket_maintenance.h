// BucketMaintenance: fleet mode's bucket upkeep, on a thread of each node's
// own (never an I/O or worker thread). Every `flush_every` it sends the
// node's batched hits to the fleet's access tally (with Redis); every
// `evict_every`, when the bucket has limits, it runs the BucketEvictor: on
// one node of the fleet at a time under a Redis lease, or, without Redis, on
// every node that has the limits set (passes are idempotent, but run the
// limits on one node then). Reports cellar_bucket_* metrics and logs a
// pass that removed something.
// Thread-safety: Start/Stop from one thread (App).
#pragma once

#include <chrono>

#include "index/s3/bucket_evictor.h"
#include "metrics/metrics.h"
#include "redis/access_tally.h"
#include "redis/leases.h"
#include "server/ticker.h"

namespace cellar::server {

struct BucketMaintenanceOptions {
  std::chrono::milliseconds flush_every{10'000};
  std::chrono::milliseconds evict_every{60'000};
};

class BucketMaintenance {
 public:
  // Any of tally, evictor and leases may be null. All must outlive this.
  BucketMaintenance(redis::RedisAccessTally* tally, index::BucketEvictor* evictor, redis::Leases* leases,
                    metrics::Registry& registry, BucketMaintenanceOptions options);
  ~BucketMaintenance();  // Stop()

  void Start();
  void Stop();  // then flushes the hits noted so far

  // One eviction pass now (under the lease when there are leases): for
  // tests and the thread.
  void EvictOnce();

 private:
  // Flushes the tally; runs a pass when one is due.
  void Tick();

  redis::RedisAccessTally* const tally_;
  index::BucketEvictor* const evictor_;
  redis::Leases* const leases_;
  const BucketMaintenanceOptions options_;
  metrics::Family<metrics::Counter>& runs_;
  metrics::Family<metrics::Counter>& evicted_;
  metrics::Counter& mirrors_evicted_;
  metrics::Counter& blobs_removed_;
  metrics::Counter& bytes_removed_;
  metrics::Gauge& blob_bytes_;
  std::chrono::steady_clock::time_point next_eviction_;  // the ticker's thread only
  bool stopped_ = false;  // Start/Stop's thread only
  Ticker ticker_;  // last: its thread uses the members above
};

}  // namespace cellar::server
