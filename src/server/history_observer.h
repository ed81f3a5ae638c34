// HistoryObserver: feeds every answered request into the dashboard's
// history (stats/history.h), except the server's own operational routes
// (health checks, /metrics, the API and the dashboard itself), whose polling
// would otherwise drown the protocols' numbers.
// Thread-safety: Observe() from any I/O thread (the tally takes one lock).
#pragma once

#include <chrono>

#include "http/server.h"
#include "stats/history.h"

namespace cellar::server {

class HistoryObserver : public http::RequestObserver {
 public:
  explicit HistoryObserver(stats::History& history) : history_(history) {}
  void Observe(const http::RequestSummary& r) override {
    if (r.route == "api" || r.route == "ui" || r.route == "metrics" || r.route == "healthz" ||
        r.route == "health" || r.route == "readyz" || r.route == "unmatched") {
      return;
    }
    stats::Counts c;
    c.requests = 1;
    c.errors = r.status >= 500 ? 1 : 0;
    c.bytes_in = r.bytes_in;
    c.bytes_out = r.bytes_out;
    c.duration_ms = static_cast<uint64_t>(r.seconds * 1000);
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    auto& tally = history_.tally();
    tally.Record(now_ms, r.route, r.cache_result, c);
    if (!r.ns.empty()) tally.Record(now_ms, stats::kNamespaceRoute, stats::NamespaceResult(r.ns, r.cache_result), c);
    if (r.time_saved_ms > 0) {
      stats::Counts saved;
      saved.requests = 1;
      saved.duration_ms = r.time_saved_ms;
      tally.Record(now_ms, stats::kTimeSavedRoute, r.route, saved);
    }
    if (r.cache_result == "stale") history_.upstreams().RecordStale(r.route);
    if (stats::IsMiss(r.cache_result)) history_.misses().Add(std::string(r.route) + " " + std::string(r.path));
  }

 private:
  stats::History& history_;
};

}  // namespace cellar::server
