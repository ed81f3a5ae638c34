// BackgroundScrub: runs the store's paced scrub (store::FsBlobScrubber) on a
// thread of its own for `cellar serve --scrub-rate`, pass after pass, and
// reports it: cellar_scrub_* metrics, and a log line per quarantined blob or
// failed pass. Never on an I/O thread and never on the worker pool, which
// serves requests.
// Thread-safety: Start/Stop from one thread (App); the metrics hook runs on
// any.
#pragma once

#include <chrono>
#include <memory>
#include <thread>

#include "metrics/metrics.h"
#include "store/fs_blob_scrubber.h"
#include "store/fs_blob_store.h"

namespace cellar::server {

// Registers cellar_store_quarantined_total, read from `store` at each scrape
// (quarantines happen with or without a background scrub). `store` must
// outlive `registry`'s scrapes.
void AddQuarantineMetric(metrics::Registry& registry, const store::FsBlobStore& store);

class BackgroundScrub {
 public:
  // `store` and `registry` must outlive this object. REQUIRES: rate > 0.
  BackgroundScrub(store::FsBlobStore& store, metrics::Registry& registry,
                  uint64_t bytes_per_second,
                  std::chrono::milliseconds pass_interval = std::chrono::minutes(1));
  ~BackgroundScrub();  // Stop()

  void Start();
  // Interrupts the current pass (the blob being read is left unjudged) and
  // joins the thread.
  void Stop();

 private:
  void Loop();

  store::FsBlobScrubber scrubber_;
  const std::chrono::milliseconds pass_interval_;  // pause between passes
  std::thread thread_;
};

}  // namespace cellar::server
