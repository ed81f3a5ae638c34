// RunReporter: what `cellar run` prints while it works, in the shape turbo
// users know: one status line per task (`pkg:task: cache hit (local),
// replaying logs <hash>`, `cache miss, executing <hash>`, `cache bypass
// (--force), executing <hash>`), the task's output (live for a run, replayed
// from the stored log for a hit; prefixed `pkg:task: ` when several tasks
// run), and a summary at the end. --output-logs decides what is shown:
//   full         status lines and every task's output
//   new-only     output of the tasks that ran; hits say "suppressing logs"
//   errors-only  only the output of failed tasks (printed when they fail)
//   hash-only    status lines only
//   none         nothing but errors and the summary
// On a terminal a progress line is kept at the bottom (redrawn under the
// output); elsewhere only plain lines are written.
// Thread-safety: every method may be called from any task thread; lines are
// written whole, so parallel tasks never interleave within a line.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cellar::tasks {

enum class OutputLogs { kFull, kNewOnly, kErrorsOnly, kHashOnly, kNone };
Result<OutputLogs> ParseOutputLogs(std::string_view text);

enum class CacheSource { kLocal, kRemote };
std::string_view CacheSourceName(CacheSource source);

// "pkg#task" -> "pkg:task" (the prefix turbo users read).
std::string TaskLabel(std::string_view task_id);

struct RunTotals {
  size_t total = 0;
  size_t succeeded = 0;  // ran or restored
  size_t cached = 0;     // restored from a cache
  std::vector<std::string> failed{};    // task ids
  std::vector<std::string> skipped{};   // not run because a dependency failed or the run stopped
  std::chrono::milliseconds wall{0};
  // The recorded run times of the restored tasks: what the cache saved.
  std::chrono::milliseconds saved{0};
};
// The closing block of a run (ends with a newline).
std::string FormatSummary(const RunTotals& totals);
// "1.234s".
std::string FormatSeconds(std::chrono::milliseconds duration);

struct ReporterOptions {
  OutputLogs logs = OutputLogs::kFull;
  bool prefix_output = true;  // several tasks run: each output line names its task
  bool progress = false;      // a terminal: keep a live progress line
  size_t total_tasks = 0;
  size_t width = 80;          // terminal columns, for the progress line
};

class RunReporter {
 public:
  // `write` receives text to show (whole lines, plus the progress line's
  // terminal control sequences when progress is on).
  RunReporter(ReporterOptions options, std::function<void(std::string_view)> write);

  // The task was restored from a cache; `log` is its stored output.
  void CacheHit(std::string_view task_id, CacheSource source, std::string_view hash, std::string_view log);
  // The task will run: `bypass` names why the cache was not read ("--force",
  // "--no-cache"), empty for a plain miss.
  void Executing(std::string_view task_id, std::string_view hash, std::string_view bypass = {});
  // One line of a running task's output.
  void TaskOutput(std::string_view task_id, std::string_view line);
  // A task that ran succeeded or failed; `log` is its whole output (shown
  // now in errors-only mode, where it was held back), `reason` e.g.
  // "exited with code 2".
  void TaskFailed(std::string_view task_id, std::string_view reason, std::string_view log);
  void TaskDone(std::string_view task_id);
  // Always shown: "cellar: warning: <text>".
  void Warning(std::string_view text);
  // Always shown, as is.
  void Note(std::string_view text);
  // Clears the progress line and writes the summary.
  void Finish(const RunTotals& totals);

 private:
  bool ShowsStatus() const;
  bool ShowsLiveOutput() const;
  // REQUIRES: mu_ held. Writes `text` (whole lines) above the progress line.
  void EmitLocked(const std::string& text);
  void AppendLines(std::string& out, std::string_view task_id, std::string_view text) const;
  std::string ProgressLine() const;

  const ReporterOptions options_;
  const std::function<void(std::string_view)> write_;
  std::mutex mu_;
  // Guarded by mu_.
  std::set<std::string, std::less<>> running_;
  size_t done_ = 0;
  bool progress_shown_ = false;
};

}  // namespace cellar::tasks
