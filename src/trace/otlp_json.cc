#include "trace/otlp_json.h"

#include <chrono>

namespace cellar::trace {

int64_t NowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// The encoder appends to one string: at 100% sampling it runs for every
// span of every request, and building a JSON document tree first cost about
// as much CPU as serving the request did.

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  if (n == 2 && b < 0xc2) return 0;  // overlong
  return n;
}

// A JSON string; invalid UTF-8 becomes U+FFFD, so one bad byte in a path
// never costs the whole batch.
void AppendString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (size_t n = Utf8Length(s, i)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  out += '"';
}

void AppendAttribute(std::string& out, std::string_view key, const std::variant<std::string, int64_t, bool>& value) {
  out += "{\"key\":";
  AppendString(out, key);
  out += ",\"value\":{";
  if (auto* s = std::get_if<std::string>(&value)) {
    out += "\"stringValue\":";
    AppendString(out, *s);
  } else if (auto* i = std::get_if<int64_t>(&value)) {
    out += "\"intValue\":\"" + std::to_string(*i) + "\"";
  } else {
    out += std::get<bool>(value) ? "\"boolValue\":true" : "\"boolValue\":false";
  }
  out += "}}";
}

void AppendSpan(std::string& out, const SpanData& span) {
  out += "{\"traceId\":\"" + Hex(span.context.trace_id) + "\",\"spanId\":\"" + Hex(span.context.span_id) + "\"";
  if (span.parent) out += ",\"parentSpanId\":\"" + Hex(*span.parent) + "\"";
  out += ",\"name\":";
  AppendString(out, span.name);
  out += ",\"kind\":" + std::to_string(static_cast<int>(span.kind));
  out += ",\"startTimeUnixNano\":\"" + std::to_string(span.start_unix_ns) + "\",\"endTimeUnixNano\":\"" +
         std::to_string(span.end_unix_ns) + "\",\"attributes\":[";
  for (size_t i = 0; i < span.attributes.size(); ++i) {
    if (i) out += ',';
    AppendAttribute(out, span.attributes[i].key, span.attributes[i].value);
  }
  out += "],\"status\":{\"code\":";
  out += span.error ? '2' : '0';
  if (span.error && !span.status_message.empty()) {
    out += ",\"message\":";
    AppendString(out, span.status_message);
  }
  out += "}}";
}

}  // namespace

std::string EncodeOtlpJson(const Resource& resource, std::span<const SpanData> spans) {
  std::string out;
  out.reserve(256 + spans.size() * 512);
  out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
  AppendAttribute(out, "service.name", resource.service_name);
  for (const auto& [key, value] : resource.attributes) {
    if (key == "service.name") continue;  // the dedicated setting wins
    out += ',';
    AppendAttribute(out, key, value);
  }
  out += "]},\"scopeSpans\":[{\"scope\":{\"name\":";
  AppendString(out, resource.scope_name);
  if (!resource.scope_version.empty()) {
    out += ",\"version\":";
    AppendString(out, resource.scope_version);
  }
  out += "},\"spans\":[";
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i) out += ',';
    AppendSpan(out, spans[i]);
  }
  out += "]}]}]}";
  return out;
}

}  // namespace cellar::trace
