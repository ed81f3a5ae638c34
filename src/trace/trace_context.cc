#include "trace/trace_context.h"

#include <random>

namespace cellar::trace {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // the recommendation allows lowercase only
}

template <size_t N>
bool ParseHex(std::string_view text, std::array<uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  bool any_nonzero = false;
  for (size_t i = 0; i < N; ++i) {
    int hi = HexValue(text[2 * i]), lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
    any_nonzero |= out[i] != 0;
  }
  return any_nonzero;
}

template <size_t N>
std::string ToHex(const std::array<uint8_t, N>& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * N, '0');
  for (size_t i = 0; i < N; ++i) {
    out[2 * i] = kDigits[id[i] >> 4];
    out[2 * i + 1] = kDigits[id[i] & 15];
  }
  return out;
}

std::mt19937_64& Generator() {
  thread_local std::mt19937_64 generator{[] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }()};
  return generator;
}

template <size_t N>
void FillRandom(std::array<uint8_t, N>& id) {
  do {
    for (size_t i = 0; i < N; i += 8) {
      uint64_t word = Generator()();
      for (size_t j = 0; j < 8 && i + j < N; ++j) id[i + j] = static_cast<uint8_t>(word >> (8 * j));
    }
  } while (id == std::array<uint8_t, N>{});
}

}  // namespace

std::optional<TraceContext> ParseTraceparent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55.
  if (header.size() < 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  std::array<uint8_t, 1> version{}, flags{};
  if (!ParseHex(header.substr(0, 2), version) && header.substr(0, 2) != "00") return std::nullopt;
  if (version[0] == 0xff) return std::nullopt;
  if (version[0] == 0x00 && header.size() != 55) return std::nullopt;
  if (version[0] != 0x00 && header.size() > 55 && header[55] != '-') return std::nullopt;
  TraceContext context;
  if (!ParseHex(header.substr(3, 32), context.trace_id)) return std::nullopt;
  if (!ParseHex(header.substr(36, 16), context.span_id)) return std::nullopt;
  if (!ParseHex(header.substr(53, 2), flags) && header.substr(53, 2) != "00") return std::nullopt;
  context.sampled = (flags[0] & 1) != 0;
  return context;
}

std::string FormatTraceparent(const TraceContext& context) {
  return "00-" + ToHex(context.trace_id) + "-" + ToHex(context.span_id) + (context.sampled ? "-01" : "-00");
}

std::string Hex(const TraceId& id) { return ToHex(id); }
std::string Hex(const SpanId& id) { return ToHex(id); }

TraceId NewTraceId() {
  TraceId id;
  FillRandom(id);
  return id;
}

SpanId NewSpanId() {
  SpanId id;
  FillRandom(id);
  return id;
}

}  // namespace cellar::trace
