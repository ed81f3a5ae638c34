// ZstdContextPool: reuses zstd compression contexts across blob writers
// (idle ones kept in an IdleList, as BufferPool keeps buffers).
// A fresh context allocates and clears a few MiB of tables on first use,
// which for a small blob costs more than compressing it. A few idle contexts
// are kept (bounded, so memory stays flat); the rest are freed.
// Thread-safety: Acquire() and lease release may run on any thread.
#pragma once

#include <zstd.h>

#include <atomic>
#include <cstddef>
#include <memory>

#include "base/idle_list.h"
#include "base/status.h"

namespace cellar::store {

class ZstdContextPool {
 public:
  struct Returner {
    ZstdContextPool* pool;
    void operator()(ZSTD_CCtx* cctx) const { pool->Release(cctx); }
  };
  // Returns its context to the pool when destroyed, mid-stream or not.
  using Lease = std::unique_ptr<ZSTD_CCtx, Returner>;

  explicit ZstdContextPool(size_t max_idle = 4) : idle_(max_idle) {}
  ~ZstdContextPool();
  ZstdContextPool(const ZstdContextPool&) = delete;
  ZstdContextPool& operator=(const ZstdContextPool&) = delete;

  // A context with a fresh session at compression `level`, writing frames
  // with a content checksum.
  Result<Lease> Acquire(int level);

  size_t idle_for_test() const;
  // How many contexts were ever created (not reused).
  size_t created_for_test() const;

 private:
  void Release(ZSTD_CCtx* cctx);

  IdleList<ZSTD_CCtx> idle_;
  std::atomic<size_t> created_{0};
};

}  // namespace cellar::store
