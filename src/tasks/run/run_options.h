// RunOptions: the flags of `cellar run`, parsed from argv. Kept in the
// library (not in the CLI) so the parsing has tests and the bench can build
// options the same way.
//
//   cellar run <task>... [--filter <pkg|path|glob>]... [-p <pkg|path>]
//       [--concurrency N|N%] [--force] [--no-cache | --cache=local|remote|local,remote]
//       [--dry[=text|json]] [--summarize] [--continue]
//       [--output-logs=full|new-only|errors-only|hash-only|none] [--graph[=FILE]]
//       [--cache-dir DIR] [--task-timeout DURATION] [--config FILE]
// Thread-safety: values.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tasks/run/reporter.h"

namespace cellar::tasks {

enum class DryRun { kNo, kText, kJson };

struct RunOptions {
  std::vector<std::string> tasks;    // task names ("build") or ids ("web#build")
  std::vector<std::string> filters;  // --filter: name, directory or glob (tasks/graph/task_graph.h)
  std::optional<std::string> package;  // -p/--package (VelocityCache): one package, name or directory
  size_t concurrency = 0;            // 0: the number of cores
  bool force = false;                // run every task; still write the caches
  bool no_cache = false;             // neither read nor write any cache
  bool local_cache = true;           // --cache=...
  bool remote_cache = true;
  DryRun dry = DryRun::kNo;
  bool summarize = false;
  bool keep_going = false;           // --continue
  OutputLogs output_logs = OutputLogs::kFull;
  bool graph = false;
  std::string graph_file;            // --graph=FILE; empty: stdout
  std::string cache_dir;             // empty: <root>/.cellar/cache
  std::string config_file;           // empty: cellar.yml, else velocity.yml, at the root
  std::chrono::milliseconds task_timeout{0};  // 0: none
  bool help = false;

  bool ReadsLocal() const { return !no_cache && !force && local_cache; }
  bool ReadsRemote() const { return !no_cache && !force && remote_cache; }
  bool WritesLocal() const { return !no_cache && local_cache; }
  bool WritesRemote() const { return !no_cache && remote_cache; }
};

// `cores` resolves "N%" and is the default. Errors name the flag.
Result<RunOptions> ParseRunArgs(const std::vector<std::string>& args, size_t cores);

// The usage text of `cellar run`.
const char* RunUsage();

}  // namespace cellar::tasks
