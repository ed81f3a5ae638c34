// TaskCache: what the runner needs from the caches, whatever they are made
// of: restore a task's outputs and log by its hash, store them after a
// successful run, and wait for background uploads at the end. The real one
// (cache_adapter.h) puts the artifact format, the local cache directory and
// the remote negotiate client behind this; FakeTaskCache (in the tests)
// records calls. Hits that fail to restore are misses, never hits: Restore
// returns nullopt and says why through `warning`.
// Thread-safety: Restore and Save are called from many task threads at once.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tasks/run/reporter.h"

namespace cellar::tasks {

// One node of the run as the runner sees it.
struct RunTask {
  std::string id{};          // "pkg#task"
  std::string package_dir{}; // absolute; the child's working directory
  std::string command{};     // for `sh -c`
  std::string hash{};        // the task hash (hex)
  std::vector<std::string> outputs{};  // output globs, relative to package_dir
  std::vector<size_t> deps{};          // indices into the run's task list
  bool cacheable = true;               // false (cache: false): always run, never stored
  std::chrono::milliseconds timeout{0};  // 0: the run's --task-timeout, if any
};

struct Restored {
  CacheSource source = CacheSource::kLocal;
  std::string log{};                         // the task's stored output, replayed
  std::chrono::milliseconds recorded_duration{0};  // how long the task took when it ran
  bool outputs_untouched = false;  // a local hit whose outputs were already in place, unread
};

class TaskCache {
 public:
  virtual ~TaskCache() = default;
  // Called once before any task runs, with every task of the run (one batch
  // lookup for all hashes goes here).
  virtual void Prepare(const std::vector<RunTask>& tasks) = 0;
  // Restores the outputs of `task` from a cache. nullopt: a miss, or a hit
  // that could not be restored (then `*warning` says why).
  virtual std::optional<Restored> Restore(const RunTask& task, std::string* warning) = 0;
  // Stores the outputs of a task that succeeded, with its log (read from
  // `log_path`) and run time; uploads may continue in the background.
  virtual Status Save(const RunTask& task, const std::string& log_path, std::chrono::milliseconds duration) = 0;
  // Waits (bounded) for background work; returns warnings to show, once each.
  virtual std::vector<std::string> Finish(bool interrupted) = 0;
};

}  // namespace cellar::tasks
