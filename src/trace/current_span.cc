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
  } else {
    current = nullptr;
  }
}

CurrentScope::~CurrentScope() { current = outer_; }

}  // namespace cellar::trace
