// CacheService: the protocol-neutral heart of cellar. Maps (namespace, key)
// to blobs through the Index and the BlobStore, and adds:
//  - streaming puts that commit only after verification (PendingPut);
//  - single-flight fills from an upstream, streamed to every waiting reader
//    while the blob is written (see fill.h);
//  - eviction: size watermarks (LRU), optional TTL since last access, and
//    collection of unreferenced blobs after a grace period;
//  - a hard size limit (SpaceBudget): every upload reserves its bytes before
//    writing them, evicting inline (least recently used first) when the
//    store needs room, and is refused only when the room cannot be made;
//  - pins, so a blob a request is reading is never deleted under it; the
//    store's own pins (BlobStore::Pinned: blobs waiting for an asynchronous
//    upload) are honoured the same way.
//
// All methods are synchronous and may block on disk or SQLite; the HTTP
// layer calls them from its worker pool (the exceptions, safe on an I/O
// thread, say so). Thread-safety: every method may be called concurrently.
// Lock order: eviction_mu_, then gc_mu_, then pins_mu_.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "base/status.h"
#include "core/blob_content_cache.h"
#include "core/cache_metrics.h"
#include "core/entry_cache.h"
#include "core/fleet_fill_lock.h"
#include "core/shared_lookup.h"
#include "core/space_budget.h"
#include "core/verifier.h"
#include "env/clock.h"
#include "index/document_versions.h"
#include "index/index.h"
#include "index/shared_entries.h"
#include "store/blob_store.h"

namespace cellar::core {

struct CacheOptions {
  uint64_t max_bytes = 20ULL << 30;  // hard limit: stored + reserved bytes never pass it
  double high_watermark = 0.90;      // eviction starts above max_bytes * high
  double low_watermark = 0.80;       // ... and stops below max_bytes * low
  int64_t ttl_ms = 0;                // evict entries unused this long; 0 = never
  int64_t gc_grace_ms = 10 * 60'000; // unreferenced blobs live this long
  size_t entry_cache_entries = 65'536;  // hot entries kept in memory; 0 = off
  size_t small_blob_cache_bytes = 64 << 20;  // bytes of hot small blobs in memory; 0 = off
  uint64_t small_blob_max_bytes = 64 << 10;  // largest blob kept there
  // Bytes a blob may take at rest beyond its logical size (a blob file's
  // header); every reservation includes them.
  uint64_t blob_overhead_bytes = 64;
  // The file system holding the blobs and the index (see SpaceBudget);
  // empty for in-memory stores.
  std::function<std::optional<DiskSpace>()> disk_space;
  uint64_t max_disk_headroom_bytes = 64ULL << 20;
  // Entries shared with the other nodes on one bucket (`--storage s3`), or
  // null. Committed immutable entries are published there after their blob
  // is stored; a local index miss looks there before answering a miss (see
  // docs/tiered-storage.md). Must outlive the service.
  index::SharedEntries* shared_entries = nullptr;
  SharedLookupOptions shared_lookup;
  // Called with every hit of an immutable entry (Get, Lookup), on the
  // calling thread: must be cheap and never block. Fleet mode tallies the
  // hits with it for the bucket's eviction.
  std::function<void(const index::Entry&)> on_hit;
  // Called with every entry an eviction removed and why ("size", "ttl"), on
  // the evicting thread (a worker or the eviction ticker): must be cheap.
  // The dashboard's evictions over time.
  std::function<void(const index::Entry&, std::string_view reason)> on_evict;
  // Fleet mode with Redis: the version of each mutable document the fleet
  // fetched last (protocols::MutableDocuments announces and checks them).
  // Null: each node goes by its own copies' age. Must outlive the service.
  index::DocumentVersions* document_versions = nullptr;
  // Fleet mode with S3 and Redis: a mutable document no node of the fleet
  // holds is fetched by one node at a time (protocols::MutableDocuments);
  // the others wait, then take its copy from the shared entries. Null: each
  // node fetches on its own. Must outlive the service.
  FleetFillLock* document_fill_lock = nullptr;
};

class CacheService;

// A hit: the entry and an open reader. The blob is pinned while it lives.
class Hit {
 public:
  ~Hit();
  const index::Entry& entry() const { return entry_; }
  store::BlobReader& reader() { return *reader_; }
  // The whole blob when it is held in memory (small blobs), else null: it
  // can then be sent without copying it.
  std::shared_ptr<const std::string> bytes_in_memory() const;

 private:
  friend class CacheService;
  Hit(CacheService& cache, index::Entry entry, std::unique_ptr<store::BlobReader> reader);
  CacheService& cache_;
  index::Entry entry_;
  std::unique_ptr<store::BlobReader> reader_;
};

struct PutOptions {
  std::string ns;
  std::string key;
  std::string content_type = "application/octet-stream";
  std::string attributes = "{}";
  int64_t max_age_ms = 0;
  // The body's length when known in advance (Content-Length, an upstream's
  // announced size): a body the store can never hold is refused up front,
  // and its room is reserved before the first byte arrives.
  std::optional<uint64_t> expected_size;
  index::PutMode mode = index::PutMode::kOverwrite;
  std::unique_ptr<Verifier> verifier;  // optional
  // Never published to shared entries although max_age_ms is 0: documents
  // derived from this node's copy of a mutable one (npm's rendered and
  // per-version packuments), which another node must derive from its own.
  bool local_only = false;
};

// A streaming upload. Destroying it without Commit() stores nothing and
// releases its reservation.
class PendingPut {
 public:
  ~PendingPut();
  // Reserves room for `body_bytes` of body in total, evicting inline when
  // the store needs room: blocks on disk and SQLite, so call it from a
  // worker thread. kResourceExhausted when the room cannot be made (the
  // store is held by pinned blobs and other uploads, or the body is larger
  // than the store).
  Status Reserve(uint64_t body_bytes);
  // The same when no eviction is needed; false otherwise (then Reserve()).
  // Safe on an I/O thread.
  bool TryReserve(uint64_t body_bytes);
  // Appends bytes, reserving room first (Reserve()) when the reservation
  // does not cover them; a caller on an I/O thread reserves beforehand
  // (TryReserve, else Reserve on a worker) so this only writes.
  Status Write(std::span<const std::byte> data);
  uint64_t bytes_written() const { return bytes_; }
  // Replaces the entry's attributes (JSON object text) before Commit(), for
  // values only known once every byte was seen (e.g. a Go h1: hash).
  void set_attributes(std::string attributes) { options_.attributes = std::move(attributes); }
  // Verifies, makes the blob durable and points the entry at it.
  // kAlreadyExists for PutMode::kIfAbsent when the key exists (nothing changes).
  Result<index::Entry> Commit();

 private:
  friend class CacheService;
  PendingPut(CacheService& cache, PutOptions options, std::unique_ptr<store::BlobWriter> writer);
  // Budget bytes needed for `body_bytes` of body.
  uint64_t Needed(uint64_t body_bytes) const;
  void ReleaseReservation();
  CacheService& cache_;
  PutOptions options_;
  std::unique_ptr<store::BlobWriter> writer_;
  uint64_t bytes_ = 0;
  uint64_t reserved_ = 0;  // held in the cache's SpaceBudget
  bool committed_ = false;
};

struct EvictionReport {
  uint64_t entries_evicted = 0;
  uint64_t entries_expired = 0;
  uint64_t blobs_removed = 0;
  uint64_t bytes_removed = 0;
  uint64_t stored_bytes_after = 0;
};

class CacheService {
 public:
  // All references must outlive the service.
  CacheService(store::BlobStore& blobs, index::Index& index, env::Clock& clock,
               CacheMetrics& metrics, CacheOptions options);
  ~CacheService();

  // Hit or nullopt. Records the access (batched). An entry whose blob has
  // vanished is dropped and reported as a miss. With shared entries, a local
  // index miss recovers a published entry first (Get, Lookup and Contains
  // alike); a shared store that cannot answer is a miss, not an error.
  Result<std::optional<std::unique_ptr<Hit>>> Get(const std::string& ns, const std::string& key);
  // Metadata only (HEAD). Records the access.
  Result<std::optional<index::Entry>> Lookup(const std::string& ns, const std::string& key);
  // True when the key has an entry. Not a lookup: records no access and
  // counts no hit or miss (used to skip re-uploads of known content).
  Result<bool> Contains(const std::string& ns, const std::string& key);
  // Contains() for a create-only write (PutMode::kIfAbsent) about to start,
  // to skip a body the commit would refuse. Asks the shared entries only
  // when their create-only publish cannot refuse a taken key by itself
  // (SharedEntries::PublishRefusesTakenKeys); otherwise a key only the
  // bucket holds is found by the commit, which answers kAlreadyExists.
  Result<bool> ContainsBeforeCreate(const std::string& ns, const std::string& key);
  // Starts an upload. Never evicts: reserves options.expected_size when it
  // fits now, else Reserve() or the first Write() makes the room. Safe on an
  // I/O thread. kResourceExhausted when expected_size is more than the store
  // can ever hold.
  Result<std::unique_ptr<PendingPut>> BeginPut(PutOptions options);
  // Removes the entry; with shared entries an immutable entry is withdrawn
  // from the bucket first (kUnavailable, nothing removed, when it cannot
  // be). Eviction never withdraws: it frees this node's disk only.
  Status Delete(const std::string& ns, const std::string& key);
  // Drops this node's entry for (ns, key) if it still names `digest`,
  // leaving the shared entries alone, so the next lookup recovers the
  // published one. Used when an entry acknowledged with asynchronous uploads
  // lost its create-only publish to another node's entry (see
  // docs/tiered-storage.md, "Asynchronous uploads").
  Status DropLocalEntry(const std::string& ns, const std::string& key, const Digest& digest);
  // Marks a mutable entry as just fetched (an upstream revalidation said it
  // is unchanged), optionally replacing its attributes. kNotFound if absent.
  Status MarkFetched(const std::string& ns, const std::string& key, const std::string* attributes = nullptr);

  // True when lookups may block on the network (shared entries, document
  // versions): callers must then run them on worker threads. Never blocks.
  bool ReachesTheNetwork() const {
    return options_.shared_entries != nullptr || options_.document_versions != nullptr;
  }
  // True when an entry stored with `options` is published to the shared
  // entries (there are some, and it is immutable and not local_only): its
  // commit fails when the publish does, and other nodes may wait for it.
  bool Shares(const PutOptions& options) const;
  // True when a mutable document stored with `options` is shared as well
  // (not local_only): published with its fetch time and max age, replacing
  // the previous copy, so another node recovers it and serves it while it
  // is fresh. Its commit does not depend on the publish.
  bool SharesDocument(const PutOptions& options) const;
  // Another node may just have published (ns, key): the next lookup asks
  // the shared entries even if a miss of the key was remembered.
  void ForgetSharedMiss(const std::string& ns, const std::string& key);

  // One eviction pass: TTL, watermarks, then unreferenced-blob collection.
  Result<EvictionReport> RunEviction();
  // Registers blobs present on disk but unknown to the index (after a crash
  // between blob commit and index update) so GC can collect them.
  Result<uint64_t> AdoptOrphanBlobs();
  Status Flush() { return index_.Flush(); }
  // Store size as last measured plus blobs committed and collected since.
  uint64_t approx_stored_bytes() const { return budget_.stored(); }
  // Bytes reserved by uploads in progress.
  uint64_t reserved_bytes() const { return budget_.reserved(); }

  store::BlobStore& blobs() { return blobs_; }
  index::Index& index() { return index_; }
  env::Clock& clock() { return clock_; }
  CacheMetrics& metrics() { return metrics_; }
  const CacheOptions& options() const { return options_; }

 private:
  friend class Hit;
  friend class PendingPut;
  friend class Fill;
  void Pin(const Digest& d);
  void Unpin(const Digest& d);
  bool IsPinned(const Digest& d);
  Result<index::Entry> CommitPut(PutOptions& options, store::BlobWriter& writer, uint64_t bytes);
  // Reserves `bytes` of budget, evicting inline until they fit.
  Status ReserveEvicting(uint64_t bytes);
  // Evicts least recently used entries until blobs of at least `bytes`
  // stored bytes lost their last reference (or no unpinned entry is left).
  // Returns the projected bytes freed. REQUIRES: eviction_mu_ held.
  Result<uint64_t> EvictLeastRecentlyUsed(uint64_t bytes, EvictionReport& report);
  // Compare-and-delete of each victim; the stored bytes of the blobs that
  // lost their last reference. REQUIRES: eviction_mu_ held.
  Result<uint64_t> EvictEntries(const std::vector<index::Entry>& victims, uint64_t* evicted);
  // Deletes one victim; on a full disk removes its blob file first, so
  // SQLite gets room to delete the row.
  Result<index::DeleteOutcome> EvictEntry(const index::Entry& victim, std::string_view reason);
  Result<uint64_t> CollectBlobs(int64_t cutoff_ms, EvictionReport& report);
  // The index's totals, and the budget's stored bytes set from them.
  // REQUIRES: eviction_mu_ held (nothing else subtracts stored bytes).
  Result<index::Totals> ResyncStoredBytes();
  // The entry from the in-memory cache, else from the index (and cached),
  // else (when `recover`) from the shared entries.
  Result<std::optional<index::Entry>> LoadEntry(const std::string& ns, const std::string& key,
                                                bool recover = true);
  // A published entry for a local miss, inserted into the local index (its
  // blob then reads through the tiered store). nullopt when there is none,
  // or when it cannot be recovered now (logged).
  std::optional<index::Entry> RecoverShared(const std::string& ns, const std::string& key);
  // Records an access of `entry` in the index, and hands immutable ones to
  // CacheOptions::on_hit.
  void RecordHit(const index::Entry& entry);
  // Hands a committed blob that no entry references to GC.
  void RecordOrphan(const store::BlobInfo& blob, int64_t now_ms);
  // Opens the entry's blob: from the small-blob cache when possible, and
  // small blobs read from disk are added to it. nullopt when the blob is gone.
  Result<std::optional<std::unique_ptr<store::BlobReader>>> OpenBlob(const index::Entry& entry);

  store::BlobStore& blobs_;
  index::Index& index_;
  env::Clock& clock_;
  CacheMetrics& metrics_;
  const CacheOptions options_;
  SpaceBudget budget_;
  EntryCache entries_;
  BlobContentCache small_blobs_;
  std::unique_ptr<SharedLookup> shared_;  // null without shared entries
  std::mutex eviction_mu_;  // one eviction pass (periodic or inline) at a time
  // Shared by commits, exclusive while GC deletes a blob, so a commit that
  // dedupes onto a blob can never race with that blob's deletion.
  std::shared_mutex gc_mu_;
  std::mutex pins_mu_;
  std::unordered_map<Digest, int> pins_;  // GUARDED_BY(pins_mu_)
};

}  // namespace cellar::core
