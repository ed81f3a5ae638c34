// BufferPool: recycles fixed-size byte buffers between short-lived users (an
// upload, a blob writer). A buffer freshly returned by malloc is not yet
// backed by memory, so every upload paid page faults on it (about 7% of PUT
// CPU); a recycled one is already resident. At most `max_idle` buffers are
// kept, so memory stays flat at the busiest moment's level.
// Thread-safety: Acquire() and buffer release may run on any thread.
#pragma once

#include <cstddef>
#include <memory>

#include "base/idle_list.h"

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

  BufferPool(size_t buffer_size, size_t max_idle) : size_(buffer_size), idle_(max_idle) {}
  ~BufferPool() {
    for (T* data : idle_.TakeAll()) delete[] data;
  }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A buffer of buffer_size() elements, contents unspecified.
  Buffer Acquire() {
    T* data = idle_.Take();
    if (data == nullptr) data = new T[size_];  // default-initialized: not zeroed
    return Buffer(data, Returner{this});
  }

  size_t buffer_size() const { return size_; }
  size_t idle_for_test() const { return idle_.size(); }

 private:
  void Release(T* data) {
    if (data != nullptr && !idle_.Keep(data)) delete[] data;
  }

  const size_t size_;
  IdleList<T> idle_;
};

}  // namespace cellar
