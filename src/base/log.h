// Minimal structured logging: one JSON object per line on stderr.
// Errors are logged once, at the edge (server/cli), never deep in libraries.
// Thread-safety: lines are written with a single write(2), so they do not
// interleave.
#pragma once

#include <string>
#include <string_view>

namespace cellar {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void SetMinLogLevel(LogLevel level);
// Names this process in every line (`"node":"<id>"`), so the logs of a
// fleet's nodes can be merged and still told apart. Call once at start-up,
// before other threads log; empty (the default) leaves the field out.
void SetLogNode(std::string_view node);
// `,"node":"<id>"` (JSON-escaped), or empty when no node is set: for lines
// built elsewhere (the access log).
std::string_view LogNodeField();
// Writes {"ts":...,"level":...,"msg":...} plus `fields_json`, which must be
// either empty or a comma-separated list of JSON members ("\"k\":1,\"v\":\"x\"").
void Log(LogLevel level, std::string_view msg, std::string_view fields_json = {});
// Writes a preformatted JSON line (used by the access log).
void WriteLogLine(std::string_view json_line);

// Adds `fields_json` (JSON members, as for Log) to every line this thread
// logs while the object lives: a traced request's trace and span ids during
// its blocking work (trace::CurrentScope). Never on an I/O thread across a
// co_await: coroutines interleave there. Scopes nest; the inner one wins.
class ScopedLogFields {
 public:
  explicit ScopedLogFields(std::string fields_json);
  ~ScopedLogFields();
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

 private:
  std::string fields_;
  const std::string* outer_;
};
// The fields ScopedLogFields adds on this thread now ("" for none).
std::string_view CurrentLogFields();

}  // namespace cellar
