// Metrics of the Turborepo front-end. The events endpoint is turbo's own
// hit/miss telemetry (local and remote cache), counted as sent.
#pragma once

#include "metrics/metrics.h"

namespace cellar::turbo {

struct TurboMetrics {
  explicit TurboMetrics(metrics::Registry& r)
      : requests(r.AddCounter("cellar_turbo_requests_total",
                              "Turborepo requests by operation (get, head, put, query) and result (hit, miss, "
                              "stored, exists, denied, refused, error).",
                              {"op", "result"})),
        client_events(r.AddCounter("cellar_turbo_client_events_total",
                                   "Cache events reported by turbo clients (POST /v8/artifacts/events), by "
                                   "source (local, remote) and event (hit, miss).",
                                   {"source", "event"})) {}

  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Counter>& client_events;
};

}  // namespace cellar::turbo
