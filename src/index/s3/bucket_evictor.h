// BucketEvictor: keeps a shared bucket (`--storage s3`) under its own size
// limit and age, for the whole fleet. One pass:
//   1. lists the entry manifests (reading only those it has not seen
//      before, or that changed since: an immutable entry's never does, a
//      mutable document's is replaced when refetched) and the blobs;
//   2. evicts entries: first those unused for longer than `ttl_ms`, then,
//      while the blobs pass the high watermark, in `policy` order until they
//      are under the low one. Access times and counts come from the fleet's
//      AccessTally (every node's hits, batched through Redis); an entry
//      nobody reported counts from its creation;
//   3. collects blobs that no remaining manifest names and that are older
//      than `gc_grace_ms` (a blob just uploaded may be waiting for the
//      manifest its writer is about to publish).
// Evicting removes an entry from the bucket only: nodes keep serving it from
// their own disks (each local tier has its own LRU) and a node that lacks it
// misses, as for a key never stored.
// Git mirrors' copies (`<prefix>documents/git/<repo>/manifest.json` and the
// bundles it names) are candidates like entries, under the same TTL and
// policy: their size is their bundles', their hits are the clones nodes
// serve from their own mirrors of the repository (recorded under the
// manifest's object key), and evicting one deletes the manifest, leaving
// its bundles to be collected. A node then builds that mirror from the
// upstream again. A blob any other document names is never collected.
// A manifest published during a pass that names an old blob the pass finds
// unreferenced can lose its blob; a node then treats the entry as a miss.
//
// Thread-safety: one pass at a time (the fleet runs it on one node at a
// time under a Redis lease). Blocks on the network: background thread only.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "base/status.h"
#include "env/clock.h"
#include "index/access_tally.h"
#include "index/hot_entries.h"
#include "store/s3/s3_client.h"

namespace cellar::index {

enum class BucketEvictionPolicy {
  kLeastRecentlyUsed,
  // Entries past the TTL first (as every policy), then those holding the
  // most bytes per hit.
  kSizeAndAge,
};

struct BucketEvictionOptions {
  std::string prefix;         // as S3BlobStoreOptions::prefix
  uint64_t max_bytes = 0;     // 0 = no size limit
  double high_watermark = 0.90;
  double low_watermark = 0.80;
  int64_t ttl_ms = 0;         // 0 = no age limit
  int64_t gc_grace_ms = 60 * 60'000;
  BucketEvictionPolicy policy = BucketEvictionPolicy::kLeastRecentlyUsed;
};

struct BucketEvictionReport {
  uint64_t entries = 0;            // manifests found
  uint64_t mirrors = 0;            // git mirrors' manifests found
  uint64_t mirrors_evicted = 0;    // of those, evicted (also counted as expired or evicted)
  uint64_t blob_bytes_before = 0;  // all blobs listed
  uint64_t blob_bytes_after = 0;
  uint64_t entries_expired = 0;
  uint64_t entries_evicted = 0;    // for size
  uint64_t blobs_removed = 0;
  uint64_t bytes_removed = 0;
};

class BucketEvictor {
 public:
  // `tally` and `hot` may be null; an evicted entry's copy in `hot` is
  // dropped. The client, tally, clock and hot entries must outlive this.
  BucketEvictor(s3::S3Client& client, AccessTally* tally, const env::Clock& clock, BucketEvictionOptions options,
                HotEntries* hot = nullptr);

  Result<BucketEvictionReport> RunOnce();

 private:
  struct Manifest {
    std::string digest_hex;
    uint64_t size = 0;
    int64_t created_ms = 0;
    // As listed when read: a mutable document's manifest is replaced on
    // every fetch that changed it, and is read again when this changes.
    int64_t last_modified_ms = 0;
  };

  s3::S3Client& client_;
  AccessTally* const tally_;
  HotEntries* const hot_;
  const env::Clock& clock_;
  const BucketEvictionOptions options_;
  const std::string entries_prefix_;
  const std::string documents_prefix_;
  const std::string blobs_prefix_;
  std::unordered_map<std::string, Manifest> known_;  // object key -> manifest, across passes
  std::unordered_set<std::string> mirror_manifests_;  // git mirrors' manifests in the last pass
};

}  // namespace cellar::index
