// Runner: executes a run's tasks. For each task, once its dependencies have
// succeeded: restore it from the caches (a hit replays its log), or run its
// command (a TaskProcess in the package directory), then store outputs and
// log through the TaskCache. The scheduler bounds the parallelism and
// handles failures (--continue); a StopSignal (SIGINT/SIGTERM) stops the
// children, starts nothing new and stores nothing from interrupted tasks.
// Thread-safety: Run() once, from one thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/process_runner.h"
#include "tasks/run/reporter.h"
#include "tasks/run/run_record.h"
#include "tasks/run/stop_signal.h"
#include "tasks/run/task_cache.h"

namespace cellar::tasks {

struct RunnerOptions {
  size_t concurrency = 0;      // 0: the number of cores
  bool keep_going = false;
  bool read_cache = true;
  bool write_cache = true;
  std::string bypass_reason{};   // "--force" / "--no-cache" when the cache is not read
  std::string log_dir{};         // where running tasks' logs are written (created)
  std::chrono::milliseconds task_timeout{0};
  std::chrono::milliseconds kill_grace{3000};
  std::vector<std::string> env{};  // the children's environment
};

struct RunnerResult {
  RunTotals totals;
  int exit_code = 0;  // 0; 1 when a task failed; 128+signal when stopped
};

class Runner {
 public:
  // All references must outlive the Runner.
  Runner(env::ProcessRunner& processes, TaskCache& cache, RunReporter& reporter, StopSignal& stop,
         RunnerOptions options);

  // `records` has one entry per task (same order); their result fields are
  // filled in. kInvalidArgument for a cycle.
  Result<RunnerResult> Run(const std::vector<RunTask>& tasks, std::vector<TaskRecord>& records);

 private:
  bool RunOne(const RunTask& task, TaskRecord& record);
  bool Execute(const RunTask& task, TaskRecord& record);

  env::ProcessRunner& processes_;
  TaskCache& cache_;
  RunReporter& reporter_;
  StopSignal& stop_;
  const RunnerOptions options_;
};

}  // namespace cellar::tasks
