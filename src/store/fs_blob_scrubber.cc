#include "store/fs_blob_scrubber.h"

#include <algorithm>

namespace cellar::store {

FsBlobScrubber::FsBlobScrubber(FsBlobStore& store, Options options)
    : store_(store), options_(std::move(options)) {}

Result<VerifyReport> FsBlobScrubber::RunPass(const std::function<void(const BadBlob&)>& on_bad) {
  if (options_.bytes_per_second == 0) return Status::InvalidArgument("scrub rate must be > 0");
  ScrubOptions scrub;
  scrub.quarantine_bad = true;
  scrub.pace = [this](uint64_t n) {
    bytes_.fetch_add(n, std::memory_order_relaxed);
    return Pace(n);
  };
  scrub.on_blob = [this, &on_bad](const Digest&, const BadBlob* bad) {
    (bad == nullptr ? blobs_ok_ : blobs_bad_).fetch_add(1, std::memory_order_relaxed);
    if (bad != nullptr && on_bad) on_bad(*bad);
    // The open and stat of a blob cost something even when it is tiny. A
    // stop is seen at the next chunk read.
    (void)Pace(options_.min_bytes_per_blob);
  };
  Result<VerifyReport> report = store_.Scrub(scrub);
  if (report.ok()) passes_.fetch_add(1, std::memory_order_relaxed);
  return report;
}

bool FsBlobScrubber::Pace(uint64_t bytes) {
  const Clock::time_point now = options_.now ? options_.now() : Clock::now();
  const auto cost = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
      static_cast<double>(bytes) / static_cast<double>(options_.bytes_per_second)));
  paid_until_ = std::max(paid_until_, now) + cost;
  const auto owed = std::chrono::duration_cast<std::chrono::nanoseconds>(paid_until_ - now);
  if (owed.count() <= 0) return true;
  return options_.wait ? options_.wait(owed) : Wait(owed);
}

void FsBlobScrubber::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

bool FsBlobScrubber::Wait(std::chrono::nanoseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

FsBlobScrubber::Counters FsBlobScrubber::counters() const {
  return Counters{blobs_ok_.load(std::memory_order_relaxed),
                  blobs_bad_.load(std::memory_order_relaxed), bytes_.load(std::memory_order_relaxed),
                  passes_.load(std::memory_order_relaxed)};
}

}  // namespace cellar::store
