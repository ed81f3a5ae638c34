// KnownBlobs: the blobs this node wrote to the bucket or saw there recently,
// with their sizes, so a caller that must know a blob is in the bucket (a
// presigned download URL is worthless otherwise) can skip a HEAD. Entries
// expire after `ttl_ms`: the bucket is shared, and another node's explicit
// delete or a bucket lifecycle rule is seen only through a request. Bounded:
// at `max_entries` the set is emptied and refills as blobs are seen.
// Thread-safety: every method may be called concurrently (one mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "base/digest.h"
#include "env/clock.h"

namespace cellar::s3 {

class KnownBlobs {
 public:
  KnownBlobs(const env::Clock& clock, int64_t ttl_ms, size_t max_entries)
      : clock_(clock), ttl_ms_(ttl_ms), max_entries_(max_entries) {}

  void Remember(const Digest& digest, uint64_t size);
  void Forget(const Digest& digest);
  // True when `digest` was seen with `size` bytes less than ttl_ms ago.
  bool Known(const Digest& digest, uint64_t size);

 private:
  struct Seen {
    uint64_t size;
    int64_t at_ms;
  };
  const env::Clock& clock_;
  const int64_t ttl_ms_;
  const size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<Digest, Seen> seen_;  // GUARDED_BY(mu_)
};

}  // namespace cellar::s3
