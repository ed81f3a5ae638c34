// CurrentScope: makes a request's trace the current one on this thread for
// a block of blocking work (an upstream fill on the upstream pool), so the
// traced HTTP client (traced_http_client.h) records its upstream call as a
// child span and sends the traceparent, without threading the context
// through every fetch function. Set it inside the blocking lambda, never on
// an I/O thread: coroutines interleave there, so a thread-local would leak
// from one request into another.
// While a sampled trace is current, every Log() line of the thread carries
// its trace_id and span_id (base/log.h ScopedLogFields).
// Thread-safety: thread-local; scopes nest.
#pragma once

#include <optional>

#include "base/log.h"
#include "trace/trace_context.h"

namespace cellar::trace {

class Tracer;

struct CurrentSpan {
  Tracer* tracer = nullptr;
  TraceContext context;
};

// A request's trace as a value, for work that outlives the request's own
// context pointer (a detached refresh): nullopt when not traced.
inline std::optional<CurrentSpan> CarriedSpan(Tracer* tracer, const TraceContext* context) {
  if (tracer == nullptr || context == nullptr) return std::nullopt;
  return CurrentSpan{tracer, *context};
}

// The innermost scope's span on this thread, or null.
const CurrentSpan* Current();

class CurrentScope {
 public:
  // A null tracer or context makes no span current (and hides an outer one).
  CurrentScope(Tracer* tracer, const TraceContext* context);
  ~CurrentScope();
  CurrentScope(const CurrentScope&) = delete;
  CurrentScope& operator=(const CurrentScope&) = delete;

 private:
  CurrentSpan span_;
  const CurrentSpan* outer_;
  std::optional<ScopedLogFields> log_fields_;
};

}  // namespace cellar::trace
