// IdleList: the bounded, thread-safe stack of idle objects behind a pool
// (BufferPool, store's ZstdContextPool). The pool creates, resets and frees
// its objects; this only decides which idle one is handed out next and how
// many are kept, so memory stays at the busiest moment's level, no higher.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace cellar {

template <typename T>
class IdleList {
 public:
  explicit IdleList(size_t max_idle) : max_idle_(max_idle) {}

  // The most recently kept object (its memory is the likeliest to be
  // resident), or nullptr when none is idle.
  T* Take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.empty()) return nullptr;
    T* item = idle_.back();
    idle_.pop_back();
    return item;
  }

  // Keeps `item` for a later Take(). False when max_idle are already kept:
  // the caller then frees it.
  bool Keep(T* item) {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() >= max_idle_) return false;
    idle_.push_back(item);
    return true;
  }

  // Everything kept, for the pool's destructor to free.
  std::vector<T*> TakeAll() {
    std::vector<T*> all;
    std::lock_guard<std::mutex> lock(mu_);
    all.swap(idle_);
    return all;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return idle_.size();
  }

 private:
  const size_t max_idle_;
  mutable std::mutex mu_;
  std::vector<T*> idle_;
};

}  // namespace cellar
