// SpanData: one finished span, as the exporter sends it (OTLP's Span).
// Thread-safety: a value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "trace/trace_context.h"

namespace cellar::trace {

// OTLP's SpanKind values.
enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3 };

struct Attribute {
  // A string literal (OpenTelemetry's attribute names are fixed): spans are
  // made on every traced request, and a copied name would be an allocation.
  std::string_view key;
  std::variant<std::string, int64_t, bool> value;
};

struct SpanData {
  TraceContext context;            // this span's trace and span id
  std::optional<SpanId> parent;    // none for a trace's root span
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  int64_t start_unix_ns = 0;
  int64_t end_unix_ns = 0;
  std::vector<Attribute> attributes;
  bool error = false;              // OTLP status ERROR, else UNSET
  std::string status_message;      // with an error: why
};

// Nanoseconds since the Unix epoch, from the system clock.
int64_t NowUnixNs();

}  // namespace cellar::trace
