// Index: maps (namespace, key) to the blob that holds its bytes, plus the
// metadata each protocol needs (content type, freshness, attributes), and
// tracks which blobs are referenced so unreferenced ones can be collected.
// Used by core::CacheService only.
//
// Access-time and hit updates are buffered (RecordAccess) and applied in one
// transaction by Flush(): the hot read path never opens a write transaction.
// Until then Get() and the listings show the last flushed values.
//
// A blob becomes unreferenced when its last entry is deleted or overwritten;
// the time of that change, read from the implementation's injected clock,
// starts its grace period (see UnreferencedBlobs).
//
// Implementations: SqliteIndex (sqlite_index.h), MemIndex (mem_index.h);
// contract tests: src/testing/index_conformance.h.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/status.h"

namespace cellar::index {

struct Entry {
  std::string ns;
  std::string key;
  Digest digest;
  uint64_t size = 0;  // logical size of the blob
  std::string content_type;
  int64_t created_ms = 0;      // unix epoch milliseconds
  int64_t last_access_ms = 0;  // unix epoch milliseconds
  uint64_t hits = 0;
  int64_t fetched_at_ms = 0;  // for mutable things: when fetched upstream
  int64_t max_age_ms = 0;     // 0 = immutable
  std::string attributes;     // JSON object text, opaque to the index
};

enum class PutMode {
  kOverwrite,  // replace an existing entry
  kIfAbsent,   // fail with kAlreadyExists when the key exists
};

struct BlobRow {
  Digest digest;
  uint64_t size = 0;
  uint64_t stored_size = 0;
};

// What a Put changed besides the entry.
struct PutOutcome {
  // The put recorded a blob the index did not know, so the store's total
  // of stored bytes grew by its stored_size (a deduplicated put adds none).
  bool new_blob = false;
};

// What a DeleteIfDigest did.
struct DeleteOutcome {
  bool deleted = false;  // the entry existed and named the digest
  // Its blob, when the delete removed the blob's last reference: its
  // stored_size is what collecting it will free.
  std::optional<BlobRow> unreferenced_blob;
};

struct Totals {
  uint64_t entries = 0;
  uint64_t blobs = 0;
  uint64_t stored_bytes = 0;  // sum of stored_size over all blob rows
};

class Index {
 public:
  virtual ~Index() = default;

  // nullopt on a miss.
  virtual Result<std::optional<Entry>> Get(const std::string& ns, const std::string& key) = 0;
  // Inserts or replaces the entry and records its blob (stored_size is the
  // bytes at rest) so the blob is referenced. Replacing drops the reference
  // to the old blob. A blob row that already exists keeps its sizes. The
  // caller fills every time field of `entry`; Put stamps none.
  virtual Result<PutOutcome> Put(const Entry& entry, uint64_t stored_size, PutMode mode) = 0;
  // Removing a missing entry is OK.
  virtual Status Delete(const std::string& ns, const std::string& key) = 0;
  // Compare-and-delete: removes the entry only while it still names
  // `digest`, so a caller acting on an entry it read earlier (an eviction
  // victim, an entry whose blob vanished) can never remove a newer write of
  // the same key. A missing or replaced entry is not an error (deleted is
  // false then).
  virtual Result<DeleteOutcome> DeleteIfDigest(const std::string& ns, const std::string& key,
                                               const Digest& digest) = 0;

  // Buffers one hit at `now_ms`; applied by Flush().
  virtual void RecordAccess(const std::string& ns, const std::string& key, int64_t now_ms) = 0;
  virtual Status Flush() = 0;

  // Up to `limit` entries, least recently accessed first (ties by ns, key).
  virtual Result<std::vector<Entry>> LeastRecentlyUsed(size_t limit) = 0;
  // Up to `limit` entries whose last access is before `cutoff_ms`.
  virtual Result<std::vector<Entry>> AccessedBefore(int64_t cutoff_ms, size_t limit) = 0;
  // Entries whose key starts with `prefix` in `ns` (for listings), up to
  // limit, sorted by key. The prefix is literal: no wildcard characters.
  virtual Result<std::vector<Entry>> List(const std::string& ns, const std::string& prefix,
                                          size_t limit) = 0;

  // Blobs no entry has referenced since before `cutoff_ms`, up to `limit`,
  // longest unreferenced first.
  virtual Result<std::vector<BlobRow>> UnreferencedBlobs(int64_t cutoff_ms, size_t limit) = 0;
  // Forgets the blob row if it is still unreferenced. Returns true when the
  // row was removed, so the caller may delete the bytes.
  virtual Result<bool> ForgetBlobIfUnreferenced(const Digest& digest) = 0;
  // Records a blob that exists in the store but has no entry (start-up scan
  // of orphans); it becomes collectable after the grace period.
  virtual Status RecordOrphanBlob(const BlobRow& blob, int64_t now_ms) = 0;
  // True when a blob row exists for the digest.
  virtual Result<bool> HasBlob(const Digest& digest) = 0;
  // All entries referencing blobs, for verification (digests only, distinct).
  virtual Result<std::vector<Digest>> ReferencedDigests() = 0;

  virtual Result<Totals> GetTotals() = 0;
  // Entry count and logical bytes per namespace.
  struct NamespaceStats {
    std::string ns;
    uint64_t entries = 0;
    uint64_t bytes = 0;
  };
  virtual Result<std::vector<NamespaceStats>> StatsByNamespace() = 0;

  // The dashboard's top lists: up to `limit` entries with the most hits, or
  // the largest (by size); equal values in no particular order.
  enum class TopOrder { kMostHit, kLargest };
  virtual Result<std::vector<Entry>> TopEntries(TopOrder order, size_t limit) = 0;
};

}  // namespace cellar::index
