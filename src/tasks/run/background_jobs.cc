#include "tasks/run/background_jobs.h"

namespace cellar::tasks {

BackgroundJobs::BackgroundJobs(size_t threads) : state_(std::make_shared<State>()) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    threads_.emplace_back([state = state_] { Work(state); });
  }
}

BackgroundJobs::~BackgroundJobs() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->closing = true;
    state_->queue.clear();
  }
  state_->cv.notify_all();
  for (auto& t : threads_) {
    if (abandoned_) t.detach();
    else t.join();
  }
}

void BackgroundJobs::Work(const std::shared_ptr<State>& state) {
  std::unique_lock<std::mutex> lock(state->mu);
  while (true) {
    state->cv.wait(lock, [&] { return state->closing || !state->queue.empty(); });
    if (state->queue.empty()) return;  // closing
    auto job = std::move(state->queue.front());
    state->queue.pop_front();
    ++state->running;
    lock.unlock();
    job();
    lock.lock();
    --state->running;
    state->cv.notify_all();
  }
}

void BackgroundJobs::Add(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->queue.push_back(std::move(job));
  }
  state_->cv.notify_all();
}

size_t BackgroundJobs::WaitFor(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(state_->mu);
  bool done = state_->cv.wait_for(lock, limit, [&] { return state_->queue.empty() && state_->running == 0; });
  if (done) return 0;
  size_t left = state_->queue.size() + state_->running;
  state_->queue.clear();
  if (state_->running > 0) abandoned_ = true;
  return left;
}

}  // namespace cellar::tasks
