// Metrics of the Go module proxy and checksum-database proxy, by endpoint
// kind (list, latest, info, query, mod, zip, sumdb_latest, sumdb_lookup,
// sumdb_tile, sumdb_supported).
#pragma once

#include "metrics/metrics.h"

namespace cellar::goproxy {

struct GoMetrics {
  explicit GoMetrics(metrics::Registry& r)
      : requests(r.AddCounter("cellar_go_requests_total",
                              "Go proxy requests by endpoint kind and result (hit, fill, revalidated, stale, "
                              "negative, not_found, refused, denied, error).",
                              {"kind", "result"})),
        upstream_errors(r.AddCounter("cellar_go_upstream_errors_total",
                                     "Go upstream or checksum-database failures (unreachable, 5xx), by kind.",
                                     {"kind"})),
        verification_failures(r.AddCounter("cellar_go_verification_failures_total",
                                           "Go .zip/.mod files refused before storing (bad zip, h1: mismatch "
                                           "with the checksum database), by kind.",
                                           {"kind"})) {}

  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Counter>& upstream_errors;
  metrics::Family<metrics::Counter>& verification_failures;
};

}  // namespace cellar::goproxy
