#include "server/background_scrub.h"

#include <atomic>
#include <string>

#include "base/log.h"
#include "base/strings.h"

namespace cellar::server {
namespace {

// Publishes a monotonically growing total into a Counter (which only
// counts up) at each scrape.
class CounterMirror {
 public:
  explicit CounterMirror(metrics::Counter& counter) : counter_(counter) {}
  void Update(uint64_t total) {
    const uint64_t seen = seen_.exchange(total);
    if (total > seen) counter_.Inc(total - seen);
  }

 private:
  metrics::Counter& counter_;
  std::atomic<uint64_t> seen_{0};
};

store::FsBlobScrubber::Options ScrubberOptions(uint64_t bytes_per_second) {
  store::FsBlobScrubber::Options options;
  options.bytes_per_second = bytes_per_second;
  return options;
}

}  // namespace

void AddQuarantineMetric(metrics::Registry& registry, const store::FsBlobStore& store) {
  auto quarantined = std::make_shared<CounterMirror>(
      registry
          .AddCounter("cellar_store_quarantined_total",
                      "Blob files moved to quarantine/: found bad by the scrub, by a re-upload of "
                      "the same blob, or by a read that hashed it.",
                      {})
          .With({}));
  registry.AddCollectHook(
      [&store, quarantined] { quarantined->Update(store.quarantined_total()); });
}

BackgroundScrub::BackgroundScrub(store::FsBlobStore& store, metrics::Registry& registry,
                                 uint64_t bytes_per_second,
                                 std::chrono::milliseconds pass_interval)
    : scrubber_(store, ScrubberOptions(bytes_per_second)), pass_interval_(pass_interval) {
  auto& blobs = registry.AddCounter("cellar_scrub_blobs_total",
                                    "Blobs the background scrub checked, by result (ok, bad).",
                                    {"result"});
  auto ok = std::make_shared<CounterMirror>(blobs.With({"ok"}));
  auto bad = std::make_shared<CounterMirror>(blobs.With({"bad"}));
  auto bytes = std::make_shared<CounterMirror>(registry.AddCounter(
      "cellar_scrub_bytes_total", "Blob content bytes the background scrub hashed.", {}).With({}));
  auto passes = std::make_shared<CounterMirror>(registry.AddCounter(
      "cellar_scrub_passes_total", "Complete passes of the background scrub.", {}).With({}));
  registry.AddCollectHook([this, ok, bad, bytes, passes] {
    const store::FsBlobScrubber::Counters c = scrubber_.counters();
    ok->Update(c.blobs_ok);
    bad->Update(c.blobs_bad);
    bytes->Update(c.bytes);
    passes->Update(c.passes);
  });
}

BackgroundScrub::~BackgroundScrub() { Stop(); }

void BackgroundScrub::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void BackgroundScrub::Stop() {
  scrubber_.Stop();
  if (thread_.joinable()) thread_.join();
}

void BackgroundScrub::Loop() {
  for (;;) {
    Result<store::VerifyReport> report = scrubber_.RunPass([](const store::BadBlob& bad) {
      Log(LogLevel::kWarn, "scrub found a corrupt blob",
          "\"digest\":\"" + bad.digest.Hex() + "\",\"reason\":\"" + JsonEscape(bad.reason) +
              "\",\"quarantined\":" + (bad.quarantined ? "true" : "false"));
    });
    if (!report.ok()) {
      if (report.error().code() == Code::kAborted) return;
      Log(LogLevel::kError, "scrub pass failed",
          "\"error\":\"" + JsonEscape(report.error().ToString()) + "\"");
    } else {
      Log(LogLevel::kInfo, "scrub pass done",
          "\"ok\":" + std::to_string(report->ok) + ",\"bad\":" + std::to_string(report->bad));
    }
    if (!scrubber_.Wait(pass_interval_)) return;
  }
}

}  // namespace cellar::server
