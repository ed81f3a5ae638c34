#include "trace/current_span.h"

namespace cellar::trace {

namespace {
thread_local const CurrentSpan* current = nullptr;
}  // namespace

const CurrentSpan* Current() { return current; }

CurrentScope::CurrentScope(Tracer* tracer, const TraceContext* context) : outer_(current) {
  if (tracer && context) {
    span_ = {tracer, *context};
    current = &span_;
    // An unsampled trace hides an outer scope's ids: they are not its own.
    log_fields_.emplace(context->sampled ? "\"trace_id\":\"" + Hex(context->trace_id) + "\",\"span_id\":\"" +
                                               Hex(context->span_id) + "\""
                                         : std::string());
  } else {
    current = nullptr;
    log_fields_.emplace("");  // hides an outer scope's ids too
  }
}

CurrentScope::~CurrentScope() { current = outer_; }

}  // namespace cellar::trace
