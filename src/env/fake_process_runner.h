// FakeProcessRunner: a ProcessRunner for tests. What a program does is
// scripted per argv pattern: its exit code, what it prints on stdout and
// stderr, how long it runs (or that it hangs until killed), whether it
// ignores polite signals, or that it cannot be started at all. Spawned fake
// processes talk through real pipes, so code that reads the descriptors
// (asio, poll) works unchanged. Every start is recorded in a call log (argv,
// env, cwd, stdin, the signals it got) so a test can assert what would have
// run. An argv that matches no script fails to spawn with kNotFound, like a
// program missing from PATH.
//
// Patterns: a pattern is a list of words that must all appear in argv, in
// order but not necessarily adjacent ({"git", "fetch"} matches
// `git -C /m fetch --prune origin`). When several match, the longest pattern
// wins, then the one set last.
// Thread-safety: every method may be called concurrently; a Process belongs
// to one thread, as with the real runner.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "env/process_runner.h"

namespace cellar::env {

struct FakeProcessScript {
  int exit_code = 0;
  std::string out;
  std::string err;
  // The process prints its output first, then runs this long before it
  // exits (real time, so keep it short), or forever when `hang`. A spawned
  // process with piped stdin also reads it to EOF before it exits.
  std::chrono::milliseconds delay{0};
  bool hang = false;
  // SIGTERM/SIGINT are ignored (only Kill ends it), like a program that
  // traps them.
  bool ignore_signals = false;
  // Spawn() and Run() fail with this status instead of starting anything.
  std::optional<Status> spawn_error;

  static FakeProcessScript Exit(int code, std::string out = "", std::string err = "");
  static FakeProcessScript Hang(std::string out = "");
  static FakeProcessScript SpawnFailure(Status error);
};

class FakeProcessRunner final : public ProcessRunner {
 public:
  struct Call {
    std::vector<std::string> argv;
    std::vector<std::string> env;
    std::string cwd;
    // What reached stdin: Run's input; for a spawned process, what the
    // caller wrote (complete once the process has been waited for).
    std::string input;
    std::vector<int> signals;  // every signal sent, SIGKILL for Kill and Run timeouts
    bool spawned = false;      // true: Spawn(); false: Run()
    // The value of environment variable `name`, nullopt when unset.
    std::optional<std::string> Env(std::string_view name) const;
    std::string Command() const;  // argv joined by spaces, for messages
  };
  // Decides what a started program does; gets its options and (for Run) its
  // input. Side effects (creating the directory `git clone` would create)
  // go here too.
  using Handler = std::function<FakeProcessScript(const SubprocessOptions& options, const std::string& input)>;

  FakeProcessRunner();
  ~FakeProcessRunner() override;

  // Every start matching `pattern` gets `script` from now on (replaces any
  // script for the same pattern).
  void Set(std::vector<std::string> pattern, FakeProcessScript script);
  // Appends to the scripts for `pattern`: each start takes the next one, and
  // the last one keeps answering once the queue is down to one.
  void Queue(std::vector<std::string> pattern, FakeProcessScript script);
  void SetHandler(std::vector<std::string> pattern, Handler handler);
  void Clear(std::vector<std::string> pattern);

  Result<std::unique_ptr<Process>> Spawn(const SubprocessOptions& options) override;
  Result<RunResult> Run(SubprocessOptions options, const std::string& input, std::chrono::milliseconds timeout,
                        size_t max_output = 16 << 20) override;

  std::vector<Call> calls() const;
  // Number of starts (including failed spawns) whose argv matches `pattern`.
  size_t CallCount(const std::vector<std::string>& pattern) const;
  // The most recent start matching `pattern`; nullopt when there was none.
  std::optional<Call> LastCall(const std::vector<std::string>& pattern) const;

  // Shared with running fake processes, which outlive nothing but may
  // outlive a test's expectations about them.
  struct State;

 private:
  // The script for `options`, or the status a start fails with; records
  // the call and returns its index in the log.
  std::pair<size_t, Result<FakeProcessScript>> Start(const SubprocessOptions& options, const std::string& input,
                                                     bool spawned);

  std::shared_ptr<State> state_;
};

}  // namespace cellar::env
