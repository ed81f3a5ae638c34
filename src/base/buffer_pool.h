// BufferPool: recycles fixed-size byte buffers between short-lived users (an
// upload, a blob writer). A buffer freshly returned by malloc is not yet
// backed by memory, so every upload paid page faults on it (about 7% of PUT
// CPU); a recycled one is already resident. At most `max_idle` buffers are
// kept, so memory stays flat at the busiest moment's level.
// Thread-safety: Acquire() and buffer release may run on any thread.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace cellar {

template <typename T>
class BufferPool {
 public:
  struct Returner {
    BufferPool* pool;
    void operator()(T* data) const { pool->Release(data); }
  };
  // Goes back to the pool when destroyed.
  using Buffer = std::unique_ptr<T[], Returner>;

  BufferPool(size_t buffer_size, size_t max_idle) : size_(buffer_size), max_idle_(max_idle) {}
  ~BufferPool() {
    for (T* data : idle_) delete[] data;
  }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A buffer of buffer_size() elements, contents unspecified.
  Buffer Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        T* data = idle_.back();
        idle_.pop_back();
        return Buffer(data, Returner{this});
      }
    }
    return Buffer(new T[size_], Returner{this});  // default-initialized: not zeroed
  }

  size_t buffer_size() const { return size_; }
  size_t idle_for_test() const {
    std::lock_guard<std::mutex> lock(mu_);
    return idle_.size();
  }

 private:
  void Release(T* data) {
    if (data == nullptr) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (idle_.size() < max_idle_) {
        idle_.push_back(data);
        return;
      }
    }
    delete[] data;
  }

  const size_t size_;
  const size_t max_idle_;
  mutable std::mutex mu_;
  std::vector<T*> idle_;
};

}  // namespace cellar
