#include "trace/tracer.h"

#include <limits>

namespace cellar::trace {

Tracer::Tracer(TracerOptions options, std::unique_ptr<SpanExporter> exporter, metrics::Registry& registry)
    : options_(options),
      exporter_(std::move(exporter)),
      spans_(registry.AddCounter("cellar_trace_spans_total",
                                 "Spans by outcome: exported to the collector, dropped (the queue was full) or "
                                 "failed (the collector refused them or could not be reached)",
                                 {"result"})),
      exported_(spans_.With({"exported"})),
      dropped_(spans_.With({"dropped"})),
      failed_(spans_.With({"failed"})),
      thread_([this] { Run(); }) {}

Tracer::~Tracer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool Tracer::SampledByRatio(const TraceId& id) const {
  if (options_.sampling_ratio >= 1.0) return true;
  if (options_.sampling_ratio <= 0.0) return false;
  // The trace id's last 8 bytes as a number, against the ratio's share of
  // the range (random ids: uniformly distributed).
  uint64_t value = 0;
  for (size_t i = 8; i < 16; ++i) value = value << 8 | id[i];
  const double bound = options_.sampling_ratio * static_cast<double>(std::numeric_limits<uint64_t>::max());
  return static_cast<double>(value) < bound;
}

TraceContext Tracer::StartServerSpan(const std::optional<TraceContext>& parent) const {
  TraceContext context;
  if (parent) {
    context.trace_id = parent->trace_id;
    context.sampled = parent->sampled;
  } else {
    context.trace_id = NewTraceId();
    context.sampled = SampledByRatio(context.trace_id);
  }
  context.span_id = NewSpanId();
  return context;
}

TraceContext Tracer::StartChildSpan(const TraceContext& parent) {
  TraceContext context = parent;
  context.span_id = NewSpanId();
  return context;
}

void Tracer::Record(SpanData span) {
  if (!span.context.sampled) return;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.queue_capacity) {
      dropped_.Inc();
      return;
    }
    queue_.push_back(std::move(span));
    ++enqueued_;
    if (queue_.size() < options_.max_batch) return;
  }
  wake_.notify_one();
}

void Tracer::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = enqueued_;
  flush_requested_ = true;
  wake_.notify_one();
  drained_.wait(lock, [&] { return handed_over_ >= target || stop_; });
}

void Tracer::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait_for(lock, options_.flush_interval, [&] {
      return stop_ || flush_requested_ || queue_.size() >= options_.max_batch;
    });
    flush_requested_ = false;
    while (!queue_.empty()) {
      const size_t n = std::min(queue_.size(), options_.max_batch);
      std::vector<SpanData> batch(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
      lock.unlock();
      // The network call runs without the lock: requests keep queueing.
      // After a failed export the next second's batches are given up
      // unsent: a dead collector then costs neither encoding nor connects.
      const auto now = std::chrono::steady_clock::now();
      const Status status = now < quiet_until_ ? Status::Unavailable("collector failing") : exporter_->Export(batch);
      if (!status.ok() && now >= quiet_until_) quiet_until_ = now + std::chrono::seconds(1);
      (status.ok() ? exported_ : failed_).Inc(n);
      lock.lock();
      handed_over_ += n;
      if (!status.ok() && stop_) {
        // Shutting down with the collector failing: one attempt, not one
        // timeout per batch still queued.
        failed_.Inc(queue_.size());
        handed_over_ += queue_.size();
        queue_.clear();
      }
    }
    drained_.notify_all();
    if (stop_) return;
  }
}

ScopedSpan::ScopedSpan(Tracer* tracer, const TraceContext* parent, std::string name, SpanKind kind)
    : tracer_(tracer && parent && parent->sampled ? tracer : nullptr), has_context_(tracer && parent) {
  if (!has_context_) return;
  span_.context = Tracer::StartChildSpan(*parent);
  if (!tracer_) return;
  span_.parent = parent->span_id;
  span_.name = std::move(name);
  span_.kind = kind;
  span_.start_unix_ns = NowUnixNs();
  span_.attributes.reserve(4);
}

ScopedSpan::~ScopedSpan() {
  if (!tracer_) return;
  span_.end_unix_ns = NowUnixNs();
  tracer_->Record(std::move(span_));
}

void ScopedSpan::Set(std::string_view key, std::string_view value) {
  if (tracer_) span_.attributes.push_back({key, std::string(value)});
}

void ScopedSpan::Set(std::string_view key, int64_t value) {
  if (tracer_) span_.attributes.push_back({key, value});
}

void ScopedSpan::SetError(std::string message) {
  if (!tracer_) return;
  span_.error = true;
  span_.status_message = std::move(message);
}

}  // namespace cellar::trace
