// Metrics of the git cache: requests by kind and how they were served,
// upstream fetches and their latency, bytes, evictions and pack generations
// in flight. Hit rate = result="hit" / all fetch-kind requests.
#pragma once

#include "metrics/metrics.h"

namespace cellar::git {

struct GitMetrics {
  explicit GitMetrics(metrics::Registry& r)
      : requests(r.AddCounter("cellar_git_requests_total",
                              "git requests by kind (info_refs, ls_refs, fetch, other) and result: hit (served "
                              "from the mirror as it was), fetched (after an upstream fetch), proxied (passed to "
                              "the upstream), stale (upstream down, served from the mirror), denied, refused, busy, "
                              "error.",
                              {"kind", "result"})),
        upstream_fetches(r.AddCounter("cellar_git_upstream_fetches_total",
                                      "Mirror clones and fetches run against upstreams (requests that joined one in flight do not "
                                      "count), by result (ok, error).",
                                      {"result"})),
        upstream_fetch_seconds(r.AddHistogram("cellar_git_upstream_fetch_seconds",
                                              "Duration of mirror clones and fetches.", {},
                                              {0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800})),
        bytes_fetched(r.AddCounter("cellar_git_bytes_fetched_total",
                                   "Bytes mirrors grew by in upstream clones and fetches.", {})),
        bytes_served(r.AddCounter("cellar_git_bytes_served_total", "Pack bytes sent to clients, by source "
                                  "(mirror, upstream).", {"source"})),
        packs_in_flight(r.AddGauge("cellar_git_pack_generations_in_flight",
                                   "upload-pack processes serving clients now.", {})),
        mirror_bytes(r.AddGauge("cellar_git_mirror_bytes", "Bytes on disk of all mirrors.", {})),
        mirrors(r.AddGauge("cellar_git_mirrors", "Mirrors on local disk.", {})),
        evictions(r.AddCounter("cellar_git_evictions_total", "Mirrors evicted to stay under the size limit.", {})),
        warmups(r.AddCounter("cellar_git_warmups_total", "Repositories warmed (scheduled or on demand), by result (ok, error; skipped: another node of the fleet claimed it).",
                             {"result"})),
        shared_tier(r.AddCounter("cellar_git_shared_tier_total",
                                 "Fleet mode: mirrors built from the bucket (op=restore) and published to it "
                                 "(op=publish), by result (ok, error).",
                                 {"op", "result"})),
        shared_tier_bytes(r.AddCounter("cellar_git_shared_tier_bytes_total",
                                       "Bundle bytes read from (op=restore) and written to (op=publish) the bucket.",
                                       {"op"})) {}

  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Counter>& upstream_fetches;
  metrics::Family<metrics::Histogram>& upstream_fetch_seconds;
  metrics::Family<metrics::Counter>& bytes_fetched;
  metrics::Family<metrics::Counter>& bytes_served;
  metrics::Family<metrics::Gauge>& packs_in_flight;
  metrics::Family<metrics::Gauge>& mirror_bytes;
  metrics::Family<metrics::Gauge>& mirrors;
  metrics::Family<metrics::Counter>& evictions;
  metrics::Family<metrics::Counter>& warmups;
  metrics::Family<metrics::Counter>& shared_tier;
  metrics::Family<metrics::Counter>& shared_tier_bytes;
};

}  // namespace cellar::git
