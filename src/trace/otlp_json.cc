#include "trace/otlp_json.h"

#include <chrono>

#include <nlohmann/json.hpp>

namespace cellar::trace {

using nlohmann::json;

int64_t NowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

json AnyValue(const std::variant<std::string, int64_t, bool>& value) {
  if (auto* s = std::get_if<std::string>(&value)) return {{"stringValue", *s}};
  if (auto* i = std::get_if<int64_t>(&value)) return {{"intValue", std::to_string(*i)}};
  return {{"boolValue", std::get<bool>(value)}};
}

json SpanJson(const SpanData& span) {
  json attributes = json::array();
  for (const auto& a : span.attributes) attributes.push_back({{"key", a.key}, {"value", AnyValue(a.value)}});
  json status = {{"code", span.error ? 2 : 0}};
  if (span.error && !span.status_message.empty()) status["message"] = span.status_message;
  json out = {{"traceId", Hex(span.context.trace_id)},
              {"spanId", Hex(span.context.span_id)},
              {"name", span.name},
              {"kind", static_cast<int>(span.kind)},
              {"startTimeUnixNano", std::to_string(span.start_unix_ns)},
              {"endTimeUnixNano", std::to_string(span.end_unix_ns)},
              {"attributes", std::move(attributes)},
              {"status", std::move(status)}};
  if (span.parent) out["parentSpanId"] = Hex(*span.parent);
  return out;
}

}  // namespace

std::string EncodeOtlpJson(const Resource& resource, std::span<const SpanData> spans) {
  json attributes = json::array({{{"key", "service.name"}, {"value", {{"stringValue", resource.service_name}}}}});
  for (const auto& [key, value] : resource.attributes) {
    if (key == "service.name") continue;  // the dedicated setting wins
    attributes.push_back({{"key", key}, {"value", {{"stringValue", value}}}});
  }
  json span_list = json::array();
  for (const auto& span : spans) span_list.push_back(SpanJson(span));
  json scope = {{"name", resource.scope_name}};
  if (!resource.scope_version.empty()) scope["version"] = resource.scope_version;
  json request = {{"resourceSpans", json::array({{{"resource", {{"attributes", std::move(attributes)}}},
                                                  {"scopeSpans", json::array({{{"scope", std::move(scope)},
                                                                               {"spans", std::move(span_list)}}})}}})}};
  return request.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace cellar::trace
