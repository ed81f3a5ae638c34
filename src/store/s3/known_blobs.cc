#include "store/s3/known_blobs.h"

namespace cellar::s3 {

void KnownBlobs::Remember(const Digest& digest, uint64_t size) {
  if (max_entries_ == 0) return;
  const int64_t now = clock_.NowUnixMs();
  std::lock_guard lock(mu_);
  if (seen_.size() >= max_entries_ && seen_.find(digest) == seen_.end()) seen_.clear();
  seen_[digest] = Seen{size, now};
}

void KnownBlobs::Forget(const Digest& digest) {
  std::lock_guard lock(mu_);
  seen_.erase(digest);
}

bool KnownBlobs::Known(const Digest& digest, uint64_t size) {
  const int64_t now = clock_.NowUnixMs();
  std::lock_guard lock(mu_);
  auto it = seen_.find(digest);
  if (it == seen_.end()) return false;
  if (now - it->second.at_ms >= ttl_ms_) {
    seen_.erase(it);
    return false;
  }
  return it->second.size == size;
}

}  // namespace cellar::s3
