#include "server/ticker.h"

namespace cellar::server {

Ticker::Ticker(std::chrono::milliseconds interval, First first, std::function<void()> tick)
    : interval_(interval), first_(first), tick_(std::move(tick)) {}

Ticker::~Ticker() { Stop(); }

void Ticker::Start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    if (first_ == First::kAfterAnInterval && cv_.wait_for(lock, interval_, [this] { return stop_; })) return;
    while (!stop_) {
      lock.unlock();
      tick_();
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stop_; });
    }
  });
}

void Ticker::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cellar::server
