// BackgroundJobs: a few threads that run jobs beside the build, such as
// uploading fresh artifacts to the remote cache while the next tasks run.
// The run waits for them at the end, but only for a bounded time: a slow
// remote must not hold a finished build hostage. Jobs still queued when the
// wait gives up are dropped; jobs already running are left to finish or be
// cut off when the process exits (an upload cut short is never committed by
// the server, which checks the declared size and SHA-256).
// Thread-safety: Add() from any thread; WaitFor() from one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace cellar::tasks {

class BackgroundJobs {
 public:
  explicit BackgroundJobs(size_t threads);
  // Drops queued jobs; waits for running ones unless WaitFor() gave up on
  // them (then their threads are detached).
  ~BackgroundJobs();
  BackgroundJobs(const BackgroundJobs&) = delete;
  BackgroundJobs& operator=(const BackgroundJobs&) = delete;

  void Add(std::function<void()> job);
  // Waits until every job added so far has finished or `limit` has passed;
  // returns how many did not finish (queued ones are dropped).
  size_t WaitFor(std::chrono::milliseconds limit);

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> queue;  // guarded by mu
    size_t running = 0;                        // guarded by mu
    bool closing = false;                      // guarded by mu
  };
  static void Work(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_;  // shared with detached threads
  std::vector<std::thread> threads_;
  bool abandoned_ = false;
};

}  // namespace cellar::tasks
