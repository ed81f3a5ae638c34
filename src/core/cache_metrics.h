// CacheMetrics: the counters CacheService and the protocol adapters report,
// created once from a metrics::Registry.
#pragma once

#include "metrics/metrics.h"

namespace cellar::core {

struct CacheMetrics {
  explicit CacheMetrics(metrics::Registry& r)
      : lookups(r.AddCounter("cellar_cache_lookups_total", "Cache lookups by namespace and result (hit, miss).",
                             {"namespace", "result"})),
        puts(r.AddCounter("cellar_cache_puts_total", "Committed puts by namespace.", {"namespace"})),
        put_bytes(r.AddCounter("cellar_cache_put_bytes_total", "Bytes committed by namespace.", {"namespace"})),
        rejected(r.AddCounter("cellar_cache_rejected_total", "Uploads refused, by namespace and reason.",
                              {"namespace", "reason"})),
        evictions(r.AddCounter("cellar_cache_evictions_total", "Entries evicted, by reason (size, ttl).",
                               {"reason"})),
        blobs_collected(r.AddCounter("cellar_cache_blobs_collected_total", "Unreferenced blobs deleted.", {})),
        fills(r.AddCounter("cellar_cache_fills_total",
                           "Upstream fills by namespace and result: ok, uncached (served, not stored), fleet "
                           "(another node filled it; read from the bucket), not_found, error.",
                           {"namespace", "result"})),
        fill_waiters(r.AddCounter("cellar_cache_fill_joins_total",
                                  "Requests that joined an upstream fill already in progress.", {"namespace"})),
        shared_entries(r.AddCounter("cellar_cache_shared_entries_total",
                                    "Entries shared through the bucket: published, publish_error, "
                                    "recovered, lookup_error.",
                                    {"result"})),
        store_bytes(r.AddGauge("cellar_store_bytes", "Bytes at rest in the blob store.", {})),
        store_blobs(r.AddGauge("cellar_store_blobs", "Blobs in the store.", {})),
        store_entries(r.AddGauge("cellar_store_entries", "Index entries.", {})),
        store_max_bytes(r.AddGauge("cellar_store_max_bytes", "Configured hard size limit.", {})) {}

  metrics::Family<metrics::Counter>& lookups;
  metrics::Family<metrics::Counter>& puts;
  metrics::Family<metrics::Counter>& put_bytes;
  metrics::Family<metrics::Counter>& rejected;
  metrics::Family<metrics::Counter>& evictions;
  metrics::Family<metrics::Counter>& blobs_collected;
  metrics::Family<metrics::Counter>& fills;
  metrics::Family<metrics::Counter>& fill_waiters;
  metrics::Family<metrics::Counter>& shared_entries;
  metrics::Family<metrics::Gauge>& store_bytes;
  metrics::Family<metrics::Gauge>& store_blobs;
  metrics::Family<metrics::Gauge>& store_entries;
  metrics::Family<metrics::Gauge>& store_max_bytes;
};

}  // namespace cellar::core
