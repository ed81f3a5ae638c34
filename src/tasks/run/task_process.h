// Task process: runs one task's command the way a shell user would
// (`sh -c <command>`), in the package's directory handed to the child as its
// working directory (the runner never changes its own: tasks run in
// parallel), in its own process group, with stdout and stderr merged in the
// order they were written. The output goes to a log file (stored with the
// artifact and replayed on a hit) and, line by line, to a callback that
// shows it live. A timeout or a StopSignal stops the whole group: the
// signal first (SIGTERM for a timeout, the received one for a stop), then
// SIGKILL once `kill_grace` has passed.
// Thread-safety: RunTaskProcess may run on many threads at once, each with
// its own options; `on_line` is called on the calling thread.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "env/process_runner.h"
#include "tasks/run/stop_signal.h"

namespace cellar::tasks {

struct TaskProcessOptions {
  std::string command;            // given to `sh -c`
  std::string cwd;                // the package directory
  std::vector<std::string> env;   // the complete environment, "NAME=value"
  std::string log_path;           // created or truncated; receives every byte of output
  std::chrono::milliseconds timeout{0};      // 0: none
  std::chrono::milliseconds kill_grace{3000};  // between the polite signal and SIGKILL
  const StopSignal* stop = nullptr;          // optional
  // Each line of output as it arrives, without its '\n' (a last line
  // without one is delivered at the end). Optional.
  std::function<void(std::string_view line)> on_line;
};

struct TaskProcessResult {
  int exit_code = -1;       // 128+signal when the group was killed
  bool timed_out = false;
  bool stopped = false;     // the StopSignal fired while it ran
  std::chrono::milliseconds duration{0};
  bool ok() const { return exit_code == 0 && !timed_out && !stopped; }
};

// Fails only when the process cannot be started or the log cannot be
// written; a command that exits non-zero is a result, not an error.
Result<TaskProcessResult> RunTaskProcess(env::ProcessRunner& runner, const TaskProcessOptions& options);

}  // namespace cellar::tasks
