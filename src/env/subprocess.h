// Subprocess: runs a child (git) in its own process group with pipes, so a
// timeout or a disconnected client can kill the child and everything it
// started. Children inherit no descriptors beyond 0-2 and get exactly the
// environment they are given, so credentials passed in it are visible only
// to the child (and root), never in argv.
// Thread-safety: one Subprocess per thread; Run() blocks.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/status.h"

namespace cellar::env {

struct SubprocessOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::vector<std::string> env;   // the complete environment, "NAME=value"
  std::string cwd;                // empty: inherit
  bool pipe_stdin = false;
  bool pipe_stdout = false;
  bool pipe_stderr = false;       // false: /dev/null
  bool inherit_stdio = false;     // unpiped streams stay the parent's (not /dev/null)
  // stderr goes into the stdout pipe (needs pipe_stdout; pipe_stderr is then
  // ignored), so a caller that logs a command's output sees both streams in
  // the order they were written.
  bool merge_stderr = false;
};

class Subprocess {
 public:
  static Result<Subprocess> Spawn(const SubprocessOptions& options);
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&&) = delete;
  ~Subprocess();  // kills the group and reaps the child if still running

  pid_t pid() const { return pid_; }
  // Parent ends of the pipes (-1 when not piped). Release* hands ownership
  // to the caller (e.g. an asio descriptor).
  int stdin_fd() const { return stdin_fd_; }
  int stdout_fd() const { return stdout_fd_; }
  int stderr_fd() const { return stderr_fd_; }
  int ReleaseStdin();
  int ReleaseStdout();
  void CloseStdin();

  // `sig` to the whole process group (SIGTERM, SIGINT: a polite stop).
  void Signal(int sig);
  // SIGKILL to the whole process group.
  void Kill();
  // Waits for the exit; returns the exit status (128+signal when killed).
  int Wait();

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Runs to completion, feeding `input` to stdin and collecting stdout and
// stderr (each capped at `max_output` bytes; the rest is discarded). Kills
// the process group after `timeout`. With `merge_stderr` both streams land in
// `out` and `err` stays empty.
Result<RunResult> RunSubprocess(SubprocessOptions options, const std::string& input,
                                std::chrono::milliseconds timeout, size_t max_output = 16 << 20);

// The current environment minus variables whose names start with any of
// `drop_prefixes`, plus `extra` ("NAME=value").
std::vector<std::string> CurrentEnvironment(const std::vector<std::string>& drop_prefixes,
                                            const std::vector<std::string>& extra);

}  // namespace cellar::env
