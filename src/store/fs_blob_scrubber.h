// FsBlobScrubber: the paced scrub behind `cellar serve --scrub-rate`. Each
// pass hashes every blob of an FsBlobStore against its name
// (FsBlobStore::Scrub) and quarantines bad ones, reading blob content at no
// more than Options::bytes_per_second on average, so a scrub never competes
// with serving. The thread that runs passes lives in src/server
// (BackgroundScrub); this class does the pacing and counting.
// Thread-safety: RunPass() from one thread at a time; Stop(), Wait() and
// counters() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

#include "base/status.h"
#include "store/fs_blob_store.h"

namespace cellar::store {

class FsBlobScrubber {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    uint64_t bytes_per_second = 0;  // REQUIRES: > 0
    // Each blob costs at least this much of the budget, so a store of many
    // tiny files is not walked in a burst of opens.
    uint64_t min_bytes_per_blob = 4096;
    // Test seams: the time, and a wait that returns false once the scrubber
    // is stopping. Defaults: Clock::now and Wait().
    std::function<Clock::time_point()> now;
    std::function<bool(std::chrono::nanoseconds)> wait;
  };

  struct Counters {
    uint64_t blobs_ok = 0;
    uint64_t blobs_bad = 0;      // found bad (quarantined unless removed meanwhile)
    uint64_t bytes = 0;          // blob content bytes hashed
    uint64_t passes = 0;         // passes completed
  };

  // `store` must outlive the scrubber.
  FsBlobScrubber(FsBlobStore& store, Options options);

  // One pass over every blob, paced; `on_bad` (optional) is called for each
  // bad blob as it is found. kAborted when Stop() ended it early; other
  // errors are failures of the scrub itself (e.g. EMFILE).
  Result<VerifyReport> RunPass(const std::function<void(const BadBlob&)>& on_bad = nullptr);

  // Makes the current and every later wait return false at once.
  void Stop();
  // Waits `d`; returns false (early) when stopping.
  bool Wait(std::chrono::nanoseconds d);

  Counters counters() const;

 private:
  // Charges `bytes` to the budget and waits until they are paid for.
  bool Pace(uint64_t bytes);

  FsBlobStore& store_;
  const Options options_;
  // When the bytes read so far are paid for at the configured rate; idle
  // time earns no credit, so there are no bursts after a pause.
  Clock::time_point paid_until_{};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)

  std::atomic<uint64_t> blobs_ok_{0}, blobs_bad_{0}, bytes_{0}, passes_{0};
};

}  // namespace cellar::store
