// ProcessRunner: the seam through which cellar starts child programs (git,
// the commands of the task runner). Code that runs programs takes a
// ProcessRunner& so tests can script exits, output, hangs and spawn failures
// with FakeProcessRunner (fake_process_runner.h) instead of needing the real
// program; SystemProcessRunner runs them for real through Subprocess.
// Thread-safety: a ProcessRunner may be used from many threads at once; a
// Process belongs to one thread at a time, like Subprocess.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "base/status.h"
#include "env/subprocess.h"

namespace cellar::env {

// A running child in its own process group.
class Process {
 public:
  virtual ~Process() = default;  // kills the group and reaps it if still running

  virtual pid_t pid() const = 0;
  // Parent ends of the pipes (-1 when not piped). Release* hands ownership
  // to the caller (e.g. an asio descriptor).
  virtual int stdin_fd() const = 0;
  virtual int stdout_fd() const = 0;
  virtual int stderr_fd() const = 0;
  virtual int ReleaseStdin() = 0;
  virtual int ReleaseStdout() = 0;
  virtual void CloseStdin() = 0;

  // `sig` to the whole process group (SIGTERM or SIGINT to ask it to stop).
  virtual void Signal(int sig) = 0;
  // SIGKILL to the whole process group.
  virtual void Kill() = 0;
  // Waits for the exit; the exit status, 128+signal when killed.
  virtual int Wait() = 0;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  virtual Result<std::unique_ptr<Process>> Spawn(const SubprocessOptions& options) = 0;
  // Runs to completion as RunSubprocess does (input on stdin, stdout and
  // stderr collected up to `max_output` each, the group killed after
  // `timeout` with `timed_out` set).
  virtual Result<RunResult> Run(SubprocessOptions options, const std::string& input,
                                std::chrono::milliseconds timeout, size_t max_output = 16 << 20) = 0;
};

// Runs real programs (Subprocess, RunSubprocess).
class SystemProcessRunner final : public ProcessRunner {
 public:
  Result<std::unique_ptr<Process>> Spawn(const SubprocessOptions& options) override;
  Result<RunResult> Run(SubprocessOptions options, const std::string& input, std::chrono::milliseconds timeout,
                        size_t max_output = 16 << 20) override;
};

}  // namespace cellar::env
