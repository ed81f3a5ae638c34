#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

#include "base/strings.h"

namespace cellar {

namespace {
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
// Set once before other threads start (SetLogNode's contract), then only read.
std::string g_node_field;

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}
}  // namespace

void SetMinLogLevel(LogLevel level) { g_min_level = static_cast<int>(level); }

void SetLogNode(std::string_view node) {
  g_node_field = node.empty() ? std::string() : ",\"node\":\"" + JsonEscape(node) + "\"";
}

std::string_view LogNodeField() { return g_node_field; }

namespace {
thread_local const std::string* t_scoped_fields = nullptr;
}  // namespace

ScopedLogFields::ScopedLogFields(std::string fields_json) : fields_(std::move(fields_json)), outer_(t_scoped_fields) {
  t_scoped_fields = &fields_;
}

ScopedLogFields::~ScopedLogFields() { t_scoped_fields = outer_; }

std::string_view CurrentLogFields() { return t_scoped_fields ? std::string_view(*t_scoped_fields) : std::string_view(); }

void Log(LogLevel level, std::string_view msg, std::string_view fields_json) {
  if (static_cast<int>(level) < g_min_level.load()) return;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::string line = "{\"ts\":" + std::to_string(now) + ",\"level\":\"" +
                     std::string(LevelName(level)) + "\",\"msg\":\"" + JsonEscape(msg) + "\"" + g_node_field;
  if (!fields_json.empty()) {
    line += ",";
    line += fields_json;
  }
  if (t_scoped_fields != nullptr && !t_scoped_fields->empty()) {
    line += ",";
    line += *t_scoped_fields;
  }
  line += "}\n";
  WriteLogLine(line);
}

void WriteLogLine(std::string_view line) {
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0) return;  // nowhere left to report a logging failure
    off += static_cast<size_t>(n);
  }
}

}  // namespace cellar
