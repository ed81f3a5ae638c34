#include "store/zstd_context_pool.h"

#include <string>

namespace cellar::store {

ZstdContextPool::~ZstdContextPool() {
  for (ZSTD_CCtx* cctx : idle_) ZSTD_freeCCtx(cctx);
}

Result<ZstdContextPool::Lease> ZstdContextPool::Acquire(int level) {
  ZSTD_CCtx* cctx = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      cctx = idle_.back();
      idle_.pop_back();
    }
  }
  if (cctx == nullptr) {
    cctx = ZSTD_createCCtx();
    if (cctx == nullptr) return Status::ResourceExhausted("ZSTD_createCCtx failed");
    std::lock_guard<std::mutex> lock(mu_);
    ++created_;
  }
  Lease lease(cctx, Returner{this});
  const size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  if (ZSTD_isError(r))
    return Status::InvalidArgument(std::string("zstd level: ") + ZSTD_getErrorName(r));
  return lease;
}

void ZstdContextPool::Release(ZSTD_CCtx* cctx) {
  if (cctx == nullptr) return;
  // Drops any half-written frame but keeps the allocated tables.
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < max_idle_) {
      idle_.push_back(cctx);
      return;
    }
  }
  ZSTD_freeCCtx(cctx);
}

size_t ZstdContextPool::created_for_test() const {
  std::lock_guard<std::mutex> lock(mu_);
  return created_;
}

size_t ZstdContextPool::idle_for_test() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}

}  // namespace cellar::store
