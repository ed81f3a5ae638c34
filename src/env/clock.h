// Clock: the injected source of time. Wall time drives TTLs and stored
// timestamps; monotonic time measures durations. SystemClock is created in
// main/wiring and passed down; tests use FakeClock.
// Thread-safety: both implementations are safe to call from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cellar::env {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowUnixMs() const = 0;
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
};

class SystemClock : public Clock {
 public:
  int64_t NowUnixMs() const override;
  std::chrono::steady_clock::time_point Monotonic() const override;
};

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t start_unix_ms = 1'700'000'000'000) : now_ms_(start_unix_ms) {}
  int64_t NowUnixMs() const override { return now_ms_.load(); }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  void Advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace cellar::env
