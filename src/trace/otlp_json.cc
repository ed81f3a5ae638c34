#include "trace/otlp_json.h"

#include <charconv>
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
bool Plain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

void AppendString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    // Runs of printable ASCII, nearly every byte of a span, go in at once.
    size_t run = i;
    while (run < s.size() && Plain(static_cast<unsigned char>(s[run]))) ++run;
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      continue;
    }
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

void AppendInt(std::string& out, int64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

template <size_t N>
void AppendHex(std::string& out, const std::array<uint8_t, N>& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[2 * N];
  for (size_t i = 0; i < N; ++i) {
    buf[2 * i] = kHex[id[i] >> 4];
    buf[2 * i + 1] = kHex[id[i] & 15];
  }
  out.append(buf, sizeof buf);
}

void AppendAttribute(std::string& out, std::string_view key, const std::variant<std::string, int64_t, bool>& value) {
  out += "{\"key\":";
  AppendString(out, key);
  out += ",\"value\":{";
  if (auto* s = std::get_if<std::string>(&value)) {
    out += "\"stringValue\":";
    AppendString(out, *s);
  } else if (auto* i = std::get_if<int64_t>(&value)) {
    out += "\"intValue\":\"";
    AppendInt(out, *i);
    out += '"';
  } else {
    out += std::get<bool>(value) ? "\"boolValue\":true" : "\"boolValue\":false";
  }
  out += "}}";
}

void AppendSpan(std::string& out, const SpanData& span) {
  out += "{\"traceId\":\"";
  AppendHex(out, span.context.trace_id);
  out += "\",\"spanId\":\"";
  AppendHex(out, span.context.span_id);
  out += '"';
  if (span.parent) {
    out += ",\"parentSpanId\":\"";
    AppendHex(out, *span.parent);
    out += '"';
  }
  out += ",\"name\":";
  AppendString(out, span.name);
  out += ",\"kind\":";
  AppendInt(out, static_cast<int>(span.kind));
  out += ",\"startTimeUnixNano\":\"";
  AppendInt(out, span.start_unix_ns);
  out += "\",\"endTimeUnixNano\":\"";
  AppendInt(out, span.end_unix_ns);
  out += "\",\"attributes\":[";
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
