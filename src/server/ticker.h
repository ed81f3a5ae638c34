// Ticker: runs `tick` on a thread of its own, every `interval` (the first
// time at once, or after one interval), until Stop(). Stop() ends a wait at
// once and joins; a tick in progress finishes first. For the background
// chores of `cellar serve` that must never run on an I/O or worker thread.
// Thread-safety: Start/Stop from one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace cellar::server {

class Ticker {
 public:
  enum class First { kAtOnce, kAfterAnInterval };

  Ticker(std::chrono::milliseconds interval, First first, std::function<void()> tick);
  ~Ticker();  // Stop()

  void Start();
  // Idempotent.
  void Stop();

 private:
  const std::chrono::milliseconds interval_;
  const First first_;
  const std::function<void()> tick_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace cellar::server
