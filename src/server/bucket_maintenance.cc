#include "server/bucket_maintenance.h"

#include <algorithm>

#include "base/log.h"

namespace cellar::server {
namespace {
// Longer than any pass should take: a node that dies mid-pass frees it.
constexpr std::chrono::milliseconds kLeaseTtl{10 * 60'000};
}  // namespace

BucketMaintenance::BucketMaintenance(redis::RedisAccessTally* tally, index::BucketEvictor* evictor,
                                     redis::Leases* leases, metrics::Registry& registry,
                                     BucketMaintenanceOptions options)
    : tally_(tally),
      evictor_(evictor),
      leases_(leases),
      options_(options),
      runs_(registry.AddCounter("cellar_bucket_eviction_runs_total",
                                "Bucket eviction passes by result (ok, error, skipped: another node held the lease).",
                                {"result"})),
      evicted_(registry.AddCounter("cellar_bucket_evicted_total",
                                   "Entries and git mirrors' copies removed from the bucket, by reason (ttl, size).",
                                   {"reason"})),
      mirrors_evicted_(registry.AddCounter("cellar_bucket_git_mirrors_evicted_total",
                                           "Git mirrors' copies (manifest and bundles) removed from the bucket.", {})
                           .With({})),
      blobs_removed_(registry.AddCounter("cellar_bucket_blobs_removed_total",
                                         "Blobs no entry named, removed from the bucket.", {})
                         .With({})),
      bytes_removed_(registry.AddCounter("cellar_bucket_bytes_removed_total",
                                         "Bytes of the blobs removed from the bucket.", {})
                         .With({})),
      blob_bytes_(registry.AddGauge("cellar_bucket_blob_bytes",
                                    "Bytes of blobs in the bucket after this node's last eviction pass.", {})
                      .With({})),
      next_eviction_(std::chrono::steady_clock::now() + options.evict_every),
      ticker_(evictor != nullptr ? std::min(options.flush_every, options.evict_every) : options.flush_every,
              Ticker::First::kAfterAnInterval, [this] { Tick(); }) {}

BucketMaintenance::~BucketMaintenance() { Stop(); }

void BucketMaintenance::Start() { ticker_.Start(); }

void BucketMaintenance::Stop() {
  if (stopped_) return;
  stopped_ = true;
  ticker_.Stop();
  if (tally_ != nullptr) (void)tally_->Flush();
}

void BucketMaintenance::Tick() {
  if (tally_ != nullptr) {
    Status flushed = tally_->Flush();  // kept for the next flush when it fails
    (void)flushed;
  }
  if (evictor_ != nullptr && std::chrono::steady_clock::now() >= next_eviction_) {
    EvictOnce();
    next_eviction_ = std::chrono::steady_clock::now() + options_.evict_every;
  }
}

void BucketMaintenance::EvictOnce() {
  if (evictor_ == nullptr) return;
  std::optional<redis::Lease> lease;
  if (leases_ != nullptr) {
    Result<std::optional<redis::Lease>> got = leases_->TryAcquire("bucket-eviction", kLeaseTtl);
    if (got.ok() && !*got) {
      runs_.With({"skipped"}).Inc();  // another node is at it
      return;
    }
    if (got.ok()) lease = std::move(**got);
    // Redis down: run anyway; a pass is idempotent.
  }
  Result<index::BucketEvictionReport> report = evictor_->RunOnce();
  if (lease) (void)leases_->Release(*lease);
  if (!report.ok()) {
    runs_.With({"error"}).Inc();
    Log(LogLevel::kWarn, "bucket eviction failed: " + report.error().ToString());
    return;
  }
  runs_.With({"ok"}).Inc();
  evicted_.With({"ttl"}).Inc(report->entries_expired);
  evicted_.With({"size"}).Inc(report->entries_evicted);
  mirrors_evicted_.Inc(report->mirrors_evicted);
  blobs_removed_.Inc(report->blobs_removed);
  bytes_removed_.Inc(report->bytes_removed);
  blob_bytes_.Set(static_cast<double>(report->blob_bytes_after));
  if (report->entries_expired + report->entries_evicted + report->blobs_removed > 0) {
    Log(LogLevel::kInfo, "bucket eviction",
        "\"entries\":" + std::to_string(report->entries) + ",\"expired\":" + std::to_string(report->entries_expired) +
            ",\"evicted\":" + std::to_string(report->entries_evicted) +
            ",\"git_mirrors\":" + std::to_string(report->mirrors) +
            ",\"git_mirrors_evicted\":" + std::to_string(report->mirrors_evicted) +
            ",\"blobs_removed\":" + std::to_string(report->blobs_removed) +
            ",\"bytes_before\":" + std::to_string(report->blob_bytes_before) +
            ",\"bytes_after\":" + std::to_string(report->blob_bytes_after));
  }
}

}  // namespace cellar::server
