// History: the dashboard's numbers over time. Requests are tallied in memory
// per minute (RequestTally), finished minutes go to the stats database every
// minute and at shutdown (Flush), and a query merges both, so the page is
// live to the request and survives restarts. docs/dashboard.md lists the
// JSON this answers and how results are classed as hits and misses.
// Thread-safety: every method may be called from any thread; Flush and
// Query block on the disk (call them from a worker or ticker thread).
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "stats/request_tally.h"
#include "stats/stats_db.h"
#include "stats/top_counter.h"
#include "stats/upstream_health.h"

namespace cellar::stats {

// A request answered from the cache without asking an upstream ("hit",
// "stale", "revalidated" (a 304 from the upstream saved the body),
// "negative" (a remembered upstream 404)).
bool IsHit(std::string_view result);
// A request that had to fetch or found nothing ("miss", "fill", "uncached").
bool IsMiss(std::string_view result);

struct Range {
  std::string_view name;   // "1h", "24h", "7d"
  int64_t minutes;         // how far back
  int64_t bucket_minutes;  // one point of the series
};
// "1h" (default), "24h" or "1d", "7d" or "1w"; nullopt for anything else.
std::optional<Range> ParseRange(std::string_view name);

class History {
 public:
  static constexpr int64_t kRetentionMinutes = 8 * 24 * 60;

  History(std::unique_ptr<StatsDb> db, std::function<int64_t()> now_ms);
  RequestTally& tally() { return tally_; }
  // The most frequent misses since start, as "<protocol> <path>".
  TopCounter& misses() { return misses_; }
  UpstreamHealth& upstreams() { return upstreams_; }

  // Moves finished minutes (every minute when `all`, as at shutdown) to the
  // database and drops what is past retention.
  Status Flush(bool all);
  Result<nlohmann::json> Query(const Range& range);
  nlohmann::json UpstreamsJson() const;

 private:
  std::unique_ptr<StatsDb> db_;
  std::function<int64_t()> now_ms_;
  RequestTally tally_;
  UpstreamHealth upstreams_;
  TopCounter misses_{1000};
};

}  // namespace cellar::stats
