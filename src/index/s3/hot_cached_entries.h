// HotCachedEntries: the bucket's shared entries (S3SharedEntries) with
// copies of their manifests in HotEntries (Redis in fleet mode), so that a
// lookup another node made hot costs a Redis GET instead of an S3 GET:
//  - Find() reads the copy first; without one (or with Redis down, or a
//    damaged copy) it asks the bucket and, when found, leaves a copy;
//  - a successful Publish() leaves a copy (write-through), so the entry a
//    node just wrote is hot for every other node at once;
//  - Withdraw() drops the copy before and after withdrawing the manifest, so
//    a lookup racing with it cannot leave one behind.
// Concurrent overwriting publishes of one key (kOverwrite) may leave the
// copy of one and the manifest of the other; both name complete, verified
// bytes, and the copy expires.
// Thread-safety: as SharedEntries. `bucket` and `hot` must outlive this.
#pragma once

#include <functional>
#include <string>

#include "index/hot_entries.h"
#include "index/s3/s3_shared_entries.h"
#include "index/shared_entries.h"

namespace cellar::index {

class HotCachedEntries final : public SharedEntries {
 public:
  enum class Lookup { kHot, kCold, kHotUnavailable };
  // `on_lookup` (may be null) learns where each Find() was answered: from a
  // copy (kHot), from the bucket (kCold), or from the bucket because the
  // copies could not be read (kHotUnavailable).
  HotCachedEntries(S3SharedEntries& bucket, HotEntries& hot, std::function<void(Lookup)> on_lookup = nullptr);

  Status Publish(const Entry& entry, PutMode mode) override;
  Result<std::optional<Entry>> Find(const std::string& ns, const std::string& key) override;
  Status Withdraw(const std::string& ns, const std::string& key) override;
  bool PublishRefusesTakenKeys() const override { return bucket_.PublishRefusesTakenKeys(); }

 private:
  S3SharedEntries& bucket_;
  HotEntries& hot_;
  const std::function<void(Lookup)> on_lookup_;
};

}  // namespace cellar::index
