#include "http/access_log.h"

#include <chrono>

#include "base/log.h"

namespace cellar::http {

namespace {
constexpr size_t kFlushBytes = 64 * 1024;
constexpr auto kFlushInterval = std::chrono::milliseconds(100);
}  // namespace

AccessLog::AccessLog() : flusher_([this] { Run(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  flusher_.join();
  Flush();
}

void AccessLog::Append(std::string_view line) {
  std::lock_guard lock(mu_);
  pending_.append(line);
  if (pending_.size() >= kFlushBytes) cv_.notify_all();
}

void AccessLog::Flush() {
  std::lock_guard write_lock(write_mu_);
  std::string batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
  }
  if (!batch.empty()) WriteLogLine(batch);
}

void AccessLog::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, kFlushInterval, [&] { return stop_ || pending_.size() >= kFlushBytes; });
    lock.unlock();
    Flush();
    lock.lock();
  }
}

}  // namespace cellar::http
