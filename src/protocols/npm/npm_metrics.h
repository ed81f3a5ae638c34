// Metrics of the npm registry front-end.
#pragma once

#include "metrics/metrics.h"

namespace cellar::npm {

struct NpmMetrics {
  explicit NpmMetrics(metrics::Registry& r)
      : requests(r.AddCounter("cellar_npm_requests_total",
                              "npm requests by kind (packument, version, tarball, search, audit, other) and result "
                              "(hit, fill, revalidated, stale, not_modified, not_found, refused, error, passthrough).",
                              {"kind", "result"})),
        upstream_requests(r.AddCounter("cellar_npm_upstream_requests_total",
                                       "Requests cellar sent to npm upstreams, by kind.", {"kind"})),
        upstream_seconds(r.AddHistogram("cellar_npm_upstream_seconds",
                                        "Time to the upstream's response headers, by kind.", {"kind"},
                                        {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
        integrity_failures(r.AddCounter("cellar_npm_integrity_failures_total",
                                        "Tarballs refused because they did not match dist.integrity/shasum.", {})) {}

  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Counter>& upstream_requests;
  metrics::Family<metrics::Histogram>& upstream_seconds;
  metrics::Family<metrics::Counter>& integrity_failures;
};

}  // namespace cellar::npm
