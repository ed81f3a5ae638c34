// FleetStatsReporter: with --redis-url, writes this node's totals to Redis
// every `interval` on a thread of its own, reads every node's back, and keeps
// the latest view for /api/v1/stats ("fleet") and /metrics (cellar_fleet_*),
// so neither a request nor a scrape waits on Redis. A snapshot lives three
// intervals: a node that stops reporting drops out of the totals.
// Thread-safety: Start/Stop from one thread (App); View() from any.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>

#include <nlohmann/json.hpp>

#include "metrics/metrics.h"
#include "redis/fleet_stats.h"
#include "server/ticker.h"

namespace cellar::server {

class FleetStatsReporter {
 public:
  // This node's totals (node id included); called on the reporter's thread,
  // may block on the index.
  using TotalsFn = std::function<Result<redis::NodeTotals>()>;

  // `stats` and `registry` must outlive this object.
  FleetStatsReporter(redis::FleetStats& stats, TotalsFn totals, metrics::Registry& registry,
                     std::chrono::milliseconds interval);
  ~FleetStatsReporter();  // Stop()

  void Start();
  void Stop();
  // One report: publish this node's totals, read the fleet's. Start() runs
  // it every interval; tests call it directly.
  void ReportOnce();
  // The latest view: {"nodes", "entries", "blobs", "stored_bytes",
  // "max_bytes", "per_node": [...]}, or {"available": false, "error"} when
  // Redis did not answer the last read; null before the first.
  nlohmann::json View() const;

 private:
  redis::FleetStats& stats_;
  const TotalsFn totals_;
  metrics::Gauge& nodes_;
  metrics::Gauge& entries_;
  metrics::Gauge& stored_bytes_;
  mutable std::mutex mu_;
  nlohmann::json view_;  // GUARDED_BY(mu_)
  Ticker ticker_;        // last: its thread uses the members above
};

}  // namespace cellar::server
