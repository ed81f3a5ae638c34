// StopSignal: how SIGINT/SIGTERM reach the task runner's threads. The
// signal handler only records the signal and writes one byte to a pipe that
// nobody reads, so the read end stays readable for good: every task thread
// polls it beside its child's output and stops its child's process group,
// and the scheduler stops starting nodes. No thread is interrupted in the
// middle of a cache write; each finishes or discards its temp files.
// Thread-safety: Trigger() is async-signal-safe; everything may be called
// from any thread.
#pragma once

#include <atomic>

namespace cellar::tasks {

class StopSignal {
 public:
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // Records `signal_number` (the first one wins) and wakes every poller.
  void Trigger(int signal_number);
  bool triggered() const { return signal_.load() != 0; }
  // The signal that stopped the run, 0 when none.
  int signal_number() const { return signal_.load(); }
  // Becomes readable once triggered (and stays so); for poll().
  int fd() const { return read_fd_; }

 private:
  std::atomic<int> signal_{0};
  int read_fd_ = -1;
  int write_fd_ = -1;
};

// Routes SIGINT and SIGTERM to `stop` for as long as the returned guard
// lives; the previous dispositions come back when it is destroyed. A second
// signal while stopping is recorded the same way (children are already being
// stopped). REQUIRES: at most one guard at a time; `stop` outlives it.
class SignalRouting {
 public:
  explicit SignalRouting(StopSignal& stop);
  ~SignalRouting();
  SignalRouting(const SignalRouting&) = delete;
  SignalRouting& operator=(const SignalRouting&) = delete;
};

// The exit status for a run stopped by `signal_number` (130 for SIGINT,
// 143 for SIGTERM: 128 + the signal, as shells report it).
int ExitCodeForSignal(int signal_number);

}  // namespace cellar::tasks
