#include "store/zstd_context_pool.h"

#include <string>

namespace cellar::store {

ZstdContextPool::~ZstdContextPool() {
  for (ZSTD_CCtx* cctx : idle_.TakeAll()) ZSTD_freeCCtx(cctx);
}

Result<ZstdContextPool::Lease> ZstdContextPool::Acquire(int level) {
  ZSTD_CCtx* cctx = idle_.Take();
  if (cctx == nullptr) {
    cctx = ZSTD_createCCtx();
    if (cctx == nullptr) return Status::ResourceExhausted("ZSTD_createCCtx failed");
    ++created_;
  }
  Lease lease(cctx, Returner{this});
  size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  if (ZSTD_isError(r))
    return Status::InvalidArgument(std::string("zstd level: ") + ZSTD_getErrorName(r));
  // Blob files rely on it: a reader checks the frame's checksum before it
  // reports the end of a compressed blob (docs/blob-format.md).
  r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(r))
    return Status::Internal(std::string("zstd checksum flag: ") + ZSTD_getErrorName(r));
  return lease;
}

void ZstdContextPool::Release(ZSTD_CCtx* cctx) {
  if (cctx == nullptr) return;
  // Drops any half-written frame but keeps the allocated tables.
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
  if (!idle_.Keep(cctx)) ZSTD_freeCCtx(cctx);
}

size_t ZstdContextPool::created_for_test() const { return created_.load(); }

size_t ZstdContextPool::idle_for_test() const { return idle_.size(); }

}  // namespace cellar::store
