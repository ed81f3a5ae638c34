// RunRecord: what one `cellar run` did (or, for --dry, would do), task by
// task, and its renderings: the JSON written by --summarize under
// .cellar/runs/<run id>.json and printed by --dry=json, the text plan of
// --dry (the DOT of --graph is tasks/graph's RenderDot). Each task lists every input that went
// into its hash, so two records can be diffed to see why a task missed.
// Thread-safety: values; render from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "tasks/run/reporter.h"

namespace cellar::tasks {

struct TaskRecord {
  std::string id{};         // "pkg#task"
  std::string package{};
  std::string task{};
  std::string directory{};  // the package directory, relative to the workspace root
  std::string command{};
  std::string hash{};
  std::vector<std::string> outputs{};       // output globs
  std::vector<std::string> dependencies{};  // task ids
  std::vector<std::string> dependents{};    // task ids
  // Every file that went into the hash: relative path -> content hash.
  std::vector<std::pair<std::string, std::string>> inputs{};
  std::vector<std::string> env_keys{};
  // The hash's full manifest as JSON (tasks/hash manifest_json.h), when known.
  nlohmann::json hash_inputs{};

  // Filled once the task has been handled (absent in a --dry plan).
  std::optional<std::string> cache_status{};  // "hit", "miss", "bypass", "skipped", "not run"
  std::optional<std::string> cache_source{};  // "local", "remote" (hits)
  std::optional<int> exit_code{};
  std::chrono::milliseconds duration{0};    // this run's time for the task
  std::chrono::milliseconds saved{0};       // a hit: the recorded run time it replaced
};

struct RunRecord {
  std::string id{};
  int64_t started_unix_ms = 0;
  std::vector<std::string> requested{};   // the task names given on the command line
  std::vector<TaskRecord> tasks{};
  std::optional<RunTotals> totals{};      // absent in a --dry plan
  std::optional<int> exit_code{};
};

// A sortable run id from the start time plus randomness: "20261202T102600Z-4f1c2a".
std::string NewRunId(std::chrono::system_clock::time_point now);

std::string RenderRunJson(const RunRecord& record);
std::string RenderDryText(const RunRecord& record);

// Writes <root>/.cellar/runs/<id>.json atomically; returns its path.
Result<std::string> WriteRunSummary(const std::string& root, const RunRecord& record);

}  // namespace cellar::tasks
