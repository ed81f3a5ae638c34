#include "store/outbox/outbox_drainer.h"

#include <algorithm>

#include "base/log.h"
#include "base/strings.h"

namespace cellar::outbox {

namespace {
using std::chrono::milliseconds;

// Longest a waiting thread sleeps before looking again: records whose
// backoff ended and dependents of a completed record are found this way.
constexpr milliseconds kMaxIdleWait{1000};

std::string RecordFields(const Record& record) {
  return "\"kind\":\"" + JsonEscape(record.kind) + "\",\"subject\":\"" + JsonEscape(record.subject) + "\"";
}
}  // namespace

OutboxDrainer::OutboxDrainer(Outbox& outbox, const env::Clock& clock, Options options)
    : outbox_(outbox), clock_(clock), options_(std::move(options)), engine_(std::random_device{}()) {
  outbox_.SetOnChange([this] {
    {
      std::lock_guard lock(mu_);
      ++generation_;
    }
    cv_.notify_all();
  });
  if (options_.registry == nullptr) return;
  metrics::Registry& registry = *options_.registry;
  records_ = &registry.AddCounter("cellar_outbox_records_total",
                                  "Outbox records by kind and result: drained (done), failed (an attempt that "
                                  "will be retried), lost (the local data it named is gone).",
                                  {"kind", "result"});
  auto& pending = registry.AddGauge("cellar_outbox_pending_records",
                                    "Records in the outbox (--s3-upload=async): uploads and entry publishes not "
                                    "yet in the bucket.",
                                    {});
  auto& oldest = registry.AddGauge("cellar_outbox_oldest_pending_seconds",
                                   "Age of the oldest record in the outbox; 0 when it is empty.", {});
  // The registry may render after this drainer is gone: the hook reaches
  // the outbox only through `gauges_`, which the destructor empties.
  gauges_ = std::make_shared<GaugeSource>();
  gauges_->outbox = &outbox_;
  gauges_->clock = &clock_;
  registry.AddCollectHook([source = gauges_, &pending, &oldest] {
    std::lock_guard lock(source->mu);
    if (source->outbox == nullptr) return;
    pending.With({}).Set(static_cast<double>(source->outbox->size()));
    std::optional<int64_t> created = source->outbox->OldestCreatedMs();
    oldest.With({}).Set(created ? std::max<double>(0, (source->clock->NowUnixMs() - *created) / 1000.0) : 0);
  });
}

OutboxDrainer::~OutboxDrainer() {
  Stop();
  outbox_.SetOnChange(nullptr);
  if (gauges_) {
    std::lock_guard lock(gauges_->mu);
    gauges_->outbox = nullptr;
  }
}

void OutboxDrainer::SetHandler(std::string kind, Handler handler) { handlers_[std::move(kind)] = std::move(handler); }

void OutboxDrainer::Start() {
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  for (int i = 0; i < std::max(1, options_.threads); ++i) threads_.emplace_back([this] { Loop(); });
}

void OutboxDrainer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

int OutboxDrainer::RunReady() {
  int attempts = 0;
  for (;;) {
    const TimePoint now = clock_.Monotonic();
    {
      std::lock_guard lock(mu_);
      if (now < gate_until_) break;
    }
    std::optional<Taken> taken = outbox_.Take(now);
    if (!taken) break;
    Run(*taken);
    ++attempts;
  }
  return attempts;
}

void OutboxDrainer::Loop() {
  for (;;) {
    uint64_t seen;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      seen = generation_;
    }
    RunReady();
    std::unique_lock lock(mu_);
    const TimePoint now = clock_.Monotonic();
    milliseconds wait = kMaxIdleWait;
    if (gate_until_ > now) {
      wait = std::clamp(std::chrono::duration_cast<milliseconds>(gate_until_ - now), milliseconds(1), kMaxIdleWait);
    }
    cv_.wait_for(lock, wait, [&] { return stopping_ || generation_ != seen; });
  }
}

void OutboxDrainer::Run(const Taken& taken) {
  const Record& record = taken.record;
  auto handler = handlers_.find(record.kind);
  Outcome outcome = handler == handlers_.end()
                        ? Outcome::Retry(Status::Internal("no handler for outbox records of kind " + record.kind))
                        : handler->second(record);
  switch (outcome.kind) {
    case Outcome::Kind::kDone: {
      Status removed = outbox_.Complete(record.seq);
      Count(record.kind, "drained");
      if (!outcome.status.ok()) {
        Log(LogLevel::kInfo, "outbox record done",
            RecordFields(record) + ",\"note\":\"" + JsonEscape(outcome.status.ToString()) + "\"");
      }
      if (!removed.ok()) {
        Log(LogLevel::kWarn, "outbox record done but its file stays; it will be done again after a restart",
            RecordFields(record) + ",\"error\":\"" + JsonEscape(removed.ToString()) + "\"");
      }
      OnSuccess();
      return;
    }
    case Outcome::Kind::kRetry: {
      const TimePoint now = clock_.Monotonic();
      milliseconds delay;
      {
        std::lock_guard lock(mu_);
        delay = Backoff(taken.failures + 1);
      }
      outbox_.Release(record.seq, now + delay);
      Count(record.kind, "failed");
      OnFailure(record, outcome.status, now);
      return;
    }
    case Outcome::Kind::kLost: {
      std::vector<Record> dependents = outbox_.GiveUp(record.seq);
      Count(record.kind, "lost");
      for (const Record& d : dependents) Count(d.kind, "lost");
      Log(LogLevel::kError, "outbox record lost: its work can never be done",
          RecordFields(record) + ",\"error\":\"" + JsonEscape(outcome.status.ToString()) +
              "\",\"dependents_dropped\":" + std::to_string(dependents.size()));
      for (const Record& d : dependents) {
        Log(LogLevel::kError, "outbox record dropped: it depended on a lost one", RecordFields(d));
      }
      return;
    }
  }
}

milliseconds OutboxDrainer::Backoff(int failures) {
  // min * 2^(failures-1), capped; then a uniformly random part of the upper
  // half, so nodes that failed together do not retry together, and a retry
  // never comes sooner than half the nominal delay.
  milliseconds nominal = options_.min_backoff;
  for (int i = 1; i < failures && nominal < options_.max_backoff; ++i) nominal *= 2;
  nominal = std::min(nominal, options_.max_backoff);
  const double r = options_.random ? options_.random() : std::uniform_real_distribution<double>(0, 1)(engine_);
  const auto half = nominal.count() / 2.0;
  return milliseconds(static_cast<int64_t>(half + half * std::clamp(r, 0.0, 1.0)));
}

void OutboxDrainer::OnSuccess() {
  bool recovered = false;
  {
    std::lock_guard lock(mu_);
    consecutive_failures_ = 0;
    gate_until_ = TimePoint{};
    recovered = std::exchange(stuck_logged_, false);
  }
  if (recovered) {
    Log(LogLevel::kInfo, "outbox draining again", "\"pending\":" + std::to_string(outbox_.size()));
  }
}

void OutboxDrainer::OnFailure(const Record& record, const Status& why, TimePoint now) {
  bool log = false;
  {
    std::lock_guard lock(mu_);
    ++consecutive_failures_;
    gate_until_ = std::max(gate_until_, now + Backoff(consecutive_failures_));
    if (!stuck_logged_ || now - last_stuck_log_ >= options_.stuck_log_interval) {
      log = true;
      stuck_logged_ = true;
      last_stuck_log_ = now;
    }
  }
  if (!log) return;
  std::optional<int64_t> oldest = outbox_.OldestCreatedMs();
  const int64_t age_s = oldest ? std::max<int64_t>(0, (clock_.NowUnixMs() - *oldest) / 1000) : 0;
  Log(LogLevel::kWarn, "outbox cannot drain; retrying with backoff",
      "\"pending\":" + std::to_string(outbox_.size()) + ",\"oldest_pending_seconds\":" + std::to_string(age_s) +
          "," + RecordFields(record) + ",\"error\":\"" + JsonEscape(why.ToString()) + "\"");
}

void OutboxDrainer::Count(const std::string& kind, std::string_view result, uint64_t n) {
  if (records_ != nullptr) records_->With({kind, result}).Inc(n);
}

}  // namespace cellar::outbox
