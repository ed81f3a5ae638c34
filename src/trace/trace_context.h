// TraceContext: the identity of one span as W3C Trace Context carries it in
// the `traceparent` header ("00-<32 hex trace id>-<16 hex span id>-<flags>").
// cellar accepts it from clients, so its spans join the client's trace, and
// sends it on upstream requests, so the upstream's spans join cellar's.
// docs/tracing.md describes what cellar records.
// Thread-safety: values; the id generator is per thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cellar::trace {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

struct TraceContext {
  TraceId trace_id{};
  SpanId span_id{};
  bool sampled = false;  // flags bit 0: the span is recorded
};

// A header as the W3C recommendation defines it: version 00 exactly 55
// characters; a later version at least that, with a '-' after the flags;
// lowercase hex; neither id all zeros; version ff refused. Anything else is
// nullopt (the request then starts a new trace, as the recommendation says).
std::optional<TraceContext> ParseTraceparent(std::string_view header);
std::string FormatTraceparent(const TraceContext& context);

std::string Hex(const TraceId& id);
std::string Hex(const SpanId& id);

// Random, never all zeros. Not for secrets: ids only need to be unique.
TraceId NewTraceId();
SpanId NewSpanId();

}  // namespace cellar::trace
