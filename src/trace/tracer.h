// Tracer: decides which requests are traced and exports their finished
// spans in batches from a bounded queue on its own thread, so a slow or
// dead collector never delays a request: when the queue is full a span is
// dropped and counted (cellar_trace_spans_total{result="dropped"}).
//
// Sampling is parent-based, as OpenTelemetry's default sampler: a request
// whose `traceparent` says sampled is traced, one that says not sampled is
// not, and a request without one is traced with probability
// `sampling_ratio`, decided from its trace id (so every node of a fleet
// decides the same for the same trace).
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <thread>

#include "base/status.h"
#include "metrics/metrics.h"
#include "trace/span.h"

namespace cellar::trace {

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Sends one batch; called from the tracer's thread only.
  virtual Status Export(std::span<const SpanData> spans) = 0;
};

struct TracerOptions {
  double sampling_ratio = 1.0;  // for requests without a traceparent
  size_t queue_capacity = 8192;
  size_t max_batch = 512;
  std::chrono::milliseconds flush_interval{2000};
};

class Tracer {
 public:
  Tracer(TracerOptions options, std::unique_ptr<SpanExporter> exporter, metrics::Registry& registry);
  ~Tracer();  // exports what is queued (one attempt) and stops the thread

  // The context of a request's server span: in `parent`'s trace when a
  // valid traceparent came with it, else in a new trace.
  TraceContext StartServerSpan(const std::optional<TraceContext>& parent) const;
  // A new span id in `parent`'s trace, sampled as it is.
  static TraceContext StartChildSpan(const TraceContext& parent);

  // Queues a finished span of a sampled trace (others are ignored).
  void Record(SpanData span);
  // Blocks until every span queued before the call was handed to the
  // exporter (tests, shutdown).
  void Flush();

 private:
  void Run();
  bool SampledByRatio(const TraceId& id) const;

  const TracerOptions options_;
  std::unique_ptr<SpanExporter> exporter_;
  metrics::Family<metrics::Counter>& spans_;
  metrics::Counter& exported_;
  metrics::Counter& dropped_;
  metrics::Counter& failed_;
  std::mutex mu_;
  std::condition_variable wake_;      // the exporter thread: work or stop
  std::condition_variable drained_;   // Flush(): the queue was handed over
  std::deque<SpanData> queue_;        // GUARDED_BY(mu_)
  uint64_t enqueued_ = 0;             // GUARDED_BY(mu_): spans ever queued
  uint64_t handed_over_ = 0;          // GUARDED_BY(mu_): spans taken by the thread and exported or failed
  bool flush_requested_ = false;      // GUARDED_BY(mu_)
  bool stop_ = false;                 // GUARDED_BY(mu_)
  // The exporter thread only: until when batches are dropped unsent after
  // a failed export.
  std::chrono::steady_clock::time_point quiet_until_{};
  std::thread thread_;
};

// A child span of a traced request, recorded when it goes out of scope.
// Without a tracer or a parent it does nothing (untraced requests cost one
// branch). `context()` is what to send upstream as traceparent.
class ScopedSpan {
 public:
  ScopedSpan(Tracer* tracer, const TraceContext* parent, std::string name, SpanKind kind = SpanKind::kInternal);
  ~ScopedSpan();
  ScopedSpan(const ScopedSpan&) = delete;
  ScopedSpan& operator=(const ScopedSpan&) = delete;

  // Copies the value only when traced: untraced requests pay no
  // allocation. `key` must outlive the span (a string literal).
  void Set(std::string_view key, std::string_view value);
  void Set(std::string_view key, int64_t value);
  void SetError(std::string message);
  // Null without a tracer or parent. A span of an unsampled trace records
  // nothing (no name, no attributes: such requests pay next to nothing) but
  // still has a context, so the trace's traceparent goes upstream.
  const TraceContext* context() const { return has_context_ ? &span_.context : nullptr; }

 private:
  Tracer* tracer_;  // null: records nothing
  bool has_context_ = false;
  SpanData span_;
};

}  // namespace cellar::trace
