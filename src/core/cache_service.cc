#include "core/cache_service.h"

#include <algorithm>

#include "base/log.h"
#include "base/strings.h"
#include "hash/blake3.h"

namespace cellar::core {

namespace {
// Metric label: the protocol part of a namespace ("bazel/ac" -> "bazel"), so
// per-team namespaces cannot explode label cardinality.
std::string ProtocolOf(const std::string& ns) { return ns.substr(0, ns.find('/')); }
constexpr size_t kEvictionBatch = 256;

// A failure of the local store or index on the way to storing something.
// Its text names files under the data dir, errno strings and SQLite errors,
// which no client may see (the pull-through protocols quote what a fill
// failed with). So the detail is logged here, the one place that has it,
// and callers get the same code with a fixed message. Breaks "log once, at
// the edge" on purpose: the edge must not receive the detail at all.
Status StorageError(const Status& detail, std::string_view op, const std::string& ns, const std::string& key) {
  Log(LogLevel::kError, "storage failure",
      "\"op\":\"" + std::string(op) + "\",\"ns\":\"" + JsonEscape(ns) + "\",\"key\":\"" + JsonEscape(key) +
          "\",\"error\":\"" + JsonEscape(detail.ToString()) + "\"");
  if (detail.code() == Code::kResourceExhausted) {
    return Status::ResourceExhausted("the server's disk is full (details in its log)");
  }
  if (detail.code() == Code::kUnavailable) {
    // Worth retrying: the S3 tier cannot be reached (or SQLite is busy).
    return Status::Unavailable(
        "the server's storage is unavailable (the S3 bucket cannot be reached, or the index is busy); "
        "nothing was stored, try again later");
  }
  return Status(detail.code(), "the server could not store the data (details in its log)");
}
}  // namespace

Hit::Hit(CacheService& cache, index::Entry entry, std::unique_ptr<store::BlobReader> reader)
    : cache_(cache), entry_(std::move(entry)), reader_(std::move(reader)) {
  cache_.Pin(entry_.digest);
}

Hit::~Hit() {
  reader_.reset();
  cache_.Unpin(entry_.digest);
}

std::shared_ptr<const std::string> Hit::bytes_in_memory() const {
  const auto* memory = dynamic_cast<const MemoryBlobReader*>(reader_.get());
  return memory != nullptr ? memory->bytes() : nullptr;
}

PendingPut::PendingPut(CacheService& cache, PutOptions options,
                       std::unique_ptr<store::BlobWriter> writer)
    : cache_(cache), options_(std::move(options)), writer_(std::move(writer)) {}

// An uncommitted writer discards itself; the room it held is given back.
PendingPut::~PendingPut() { ReleaseReservation(); }

uint64_t PendingPut::Needed(uint64_t body_bytes) const {
  return body_bytes + cache_.options_.blob_overhead_bytes;
}

void PendingPut::ReleaseReservation() {
  cache_.budget_.Release(reserved_);
  reserved_ = 0;
}

bool PendingPut::TryReserve(uint64_t body_bytes) {
  const uint64_t needed = Needed(body_bytes);
  if (needed <= reserved_) return true;
  if (!cache_.budget_.TryReserve(needed - reserved_)) return false;
  reserved_ = needed;
  return true;
}

Status PendingPut::Reserve(uint64_t body_bytes) {
  if (committed_) return Status::Internal("reserve after commit");
  const uint64_t needed = Needed(body_bytes);
  if (needed <= reserved_) return Status();
  // A body that can never fit evicts nothing on its way to being refused.
  const uint64_t ceiling = cache_.budget_.Ceiling();
  Status s = needed > ceiling ? Status::ResourceExhausted("a body of " + std::to_string(body_bytes) +
                                                          " bytes is larger than the store can hold (" +
                                                          std::to_string(ceiling) + " bytes)")
                              : cache_.ReserveEvicting(needed - reserved_);
  if (!s.ok()) {
    cache_.metrics_.rejected.With({ProtocolOf(options_.ns), "full"}).Inc();
    return s;
  }
  reserved_ = needed;
  return Status();
}

Status PendingPut::Write(std::span<const std::byte> data) {
  if (committed_) return Status::Internal("write after commit");
  if (!TryReserve(bytes_ + data.size())) CELLAR_RETURN_IF_ERROR(Reserve(bytes_ + data.size()));
  if (options_.verifier) options_.verifier->Update(data);
  bytes_ += data.size();
  Status s = writer_->Write(data);
  if (s.ok()) return s;
  if (s.code() == Code::kResourceExhausted) cache_.budget_.NoteDiskFull();
  return StorageError(s, "blob write", options_.ns, options_.key);
}

Result<index::Entry> PendingPut::Commit() {
  if (committed_) return Status::Internal("commit called twice");
  if (options_.verifier) {
    Status s = options_.verifier->Finish(bytes_);
    if (!s.ok()) {
      committed_ = true;
      cache_.metrics_.rejected.With({ProtocolOf(options_.ns), "verification"}).Inc();
      writer_.reset();
      ReleaseReservation();
      return s;
    }
  }
  // Room for the blob's overhead, and for an empty body nothing reserved.
  Status room = Reserve(bytes_);
  committed_ = true;
  if (!room.ok()) {
    writer_.reset();
    ReleaseReservation();
    return room;
  }
  auto entry = cache_.CommitPut(options_, *writer_, bytes_);
  ReleaseReservation();  // after CommitPut counted the blob as stored
  return entry;
}

CacheService::CacheService(store::BlobStore& blobs, index::Index& index, env::Clock& clock,
                           CacheMetrics& metrics, CacheOptions options)
    : blobs_(blobs), index_(index), clock_(clock), metrics_(metrics), options_(options),
      budget_(SpaceBudgetOptions{options.max_bytes, options.disk_space, options.max_disk_headroom_bytes}),
      entries_(options.entry_cache_entries), small_blobs_(options.small_blob_cache_bytes) {
  if (options_.shared_entries != nullptr) {
    shared_ = std::make_unique<SharedLookup>(*options_.shared_entries, clock_, options_.shared_lookup);
  }
  if (auto totals = index_.GetTotals(); totals.ok()) budget_.SetStored(totals->stored_bytes);
  metrics_.store_max_bytes.With({}).Set(static_cast<double>(options_.max_bytes));
}

CacheService::~CacheService() { (void)index_.Flush(); }

Result<std::optional<index::Entry>> CacheService::LoadEntry(const std::string& ns,
                                                            const std::string& key, bool recover) {
  if (auto cached = entries_.Get(ns, key)) return cached;
  uint64_t sequence = entries_.write_sequence(ns, key);
  CELLAR_ASSIGN_OR_RETURN(auto entry, index_.Get(ns, key));
  if (!entry && shared_ && recover) entry = RecoverShared(ns, key);
  if (entry) entries_.FillIfUnchanged(*entry, sequence);
  return entry;
}

std::optional<index::Entry> CacheService::RecoverShared(const std::string& ns, const std::string& key) {
  auto warn = [&](std::string_view what, const Status& s) {
    Log(LogLevel::kWarn, "shared entry not recovered",
        "\"ns\":\"" + JsonEscape(ns) + "\",\"key\":\"" + JsonEscape(key) + "\",\"step\":\"" +
            std::string(what) + "\",\"error\":\"" + JsonEscape(s.ToString()) + "\"");
    metrics_.shared_entries.With({"lookup_error"}).Inc();
  };
  auto found = shared_->Find(ns, key);
  if (!found.ok()) {
    // A bucket that cannot answer makes a miss: build caches rebuild and
    // pull-through protocols fetch upstream, as without shared entries.
    warn("find", found.error());
    return std::nullopt;
  }
  if (!*found) return std::nullopt;
  index::Entry entry = std::move(**found);
  const int64_t now = clock_.NowUnixMs();
  entry.last_access_ms = now;
  if (entry.max_age_ms == 0) entry.fetched_at_ms = now;  // a mutable document keeps its fetch time (and age)
  entry.hits = 0;
  // The blob will read through into this node's disk: count it like an
  // upload, making room first.
  const uint64_t stored = entry.size + options_.blob_overhead_bytes;
  if (Status room = ReserveEvicting(stored); !room.ok()) {
    warn("reserve", room);
    return std::nullopt;
  }
  Result<index::PutOutcome> put = index::PutOutcome{};
  {
    std::shared_lock gc_lock(gc_mu_);
    // If absent: a write of the key here since the local miss wins.
    put = index_.Put(entry, stored, index::PutMode::kIfAbsent);
    if (put.ok() && put->new_blob) budget_.AddStored(stored);
  }
  budget_.Release(stored);
  if (!put.ok()) {
    if (put.error().code() == Code::kAlreadyExists) {
      auto local = index_.Get(ns, key);
      return local.ok() ? *local : std::nullopt;
    }
    warn("index put", put.error());
    return std::nullopt;
  }
  metrics_.shared_entries.With({"recovered"}).Inc();
  return entry;
}

void CacheService::RecordOrphan(const store::BlobInfo& blob, int64_t now_ms) {
  // Count it as stored unless the index knew the blob already.
  auto known = index_.HasBlob(blob.digest);
  (void)index_.RecordOrphanBlob({blob.digest, blob.size, blob.stored_size}, now_ms);
  if (!known.ok() || !*known) budget_.AddStored(blob.stored_size);
}

Result<std::optional<std::unique_ptr<store::BlobReader>>> CacheService::OpenBlob(
    const index::Entry& entry) {
  using Reader = std::optional<std::unique_ptr<store::BlobReader>>;
  // A damaged blob is never served: the store takes its copy out of service
  // (quarantine) and the caller sees a miss, so the client refills or
  // re-uploads it, which stores the right bytes again. A failed check still
  // answers a miss: wrong bytes are worse than none.
  auto drop_corrupt = [this, &entry] {
    (void)blobs_.ReportCorrupt(entry.digest);
    return Reader();
  };
  const bool small = options_.small_blob_cache_bytes > 0 && entry.size <= options_.small_blob_max_bytes;
  if (small) {
    if (auto bytes = small_blobs_.Get(entry.digest)) {
      return Reader(std::make_unique<MemoryBlobReader>(std::move(bytes)));
    }
  }
  auto opened = blobs_.Open(entry.digest);
  if (!opened.ok() && opened.error().code() == Code::kCorruption) return drop_corrupt();
  CELLAR_ASSIGN_OR_RETURN(auto reader, std::move(opened));
  if (!reader || !small) return reader;
  auto bytes = std::make_shared<std::string>((*reader)->size(), '\0');
  size_t got = 0;
  while (got < bytes->size()) {
    auto n = (*reader)->Read(std::as_writable_bytes(std::span(bytes->data() + got, bytes->size() - got)));
    if (!n.ok() && n.error().code() == Code::kCorruption) return drop_corrupt();
    if (!n.ok()) return n.error();
    if (*n == 0) return drop_corrupt();  // shorter than its header says
    got += *n;
  }
  // Small blobs are hashed once, before they are cached and served: raw
  // files carry no checksum of their own, and this costs microseconds.
  hash::Blake3Hasher hasher;
  hasher.Update(bytes->data(), bytes->size());
  if (Digest{hasher.Finalize()} != entry.digest) return drop_corrupt();
  small_blobs_.Put(entry.digest, bytes);
  return Reader(std::make_unique<MemoryBlobReader>(std::move(bytes)));
}

Result<std::optional<std::unique_ptr<Hit>>> CacheService::Get(const std::string& ns,
                                                              const std::string& key) {
  for (int attempt = 0;; ++attempt) {
    CELLAR_ASSIGN_OR_RETURN(auto entry, LoadEntry(ns, key, /*recover=*/attempt == 0));
    if (!entry) break;
    CELLAR_ASSIGN_OR_RETURN(auto reader, OpenBlob(*entry));
    if (reader) {
      RecordHit(*entry);
      metrics_.lookups.With({ProtocolOf(ns), "hit"}).Inc();
      return std::optional<std::unique_ptr<Hit>>(
          std::unique_ptr<Hit>(new Hit(*this, std::move(*entry), std::move(*reader))));
    }
    // The bytes are gone (scrubbed, removed by hand, or collected after a
    // concurrent overwrite replaced this entry since it was read): forget
    // the entry only if it still names them, so the next request refills
    // it; a newer write of the key is read once more instead.
    auto removed = index_.DeleteIfDigest(ns, key, entry->digest);
    entries_.Erase(ns, key);
    // A shared entry whose blob the bucket lost too: do not recover it
    // again on every request.
    if (shared_) shared_->RememberMiss(ns, key);
    if (attempt > 0 || !removed.ok() || removed->deleted) break;
  }
  metrics_.lookups.With({ProtocolOf(ns), "miss"}).Inc();
  return std::optional<std::unique_ptr<Hit>>();
}

void CacheService::RecordHit(const index::Entry& entry) {
  index_.RecordAccess(entry.ns, entry.key, clock_.NowUnixMs());
  if (options_.on_hit && entry.max_age_ms == 0) options_.on_hit(entry);
}

Result<std::optional<index::Entry>> CacheService::Lookup(const std::string& ns,
                                                         const std::string& key) {
  CELLAR_ASSIGN_OR_RETURN(auto entry, LoadEntry(ns, key));
  metrics_.lookups.With({ProtocolOf(ns), entry ? "hit" : "miss"}).Inc();
  if (entry) RecordHit(*entry);
  return entry;
}

Result<bool> CacheService::Contains(const std::string& ns, const std::string& key) {
  CELLAR_ASSIGN_OR_RETURN(auto entry, LoadEntry(ns, key));
  return entry.has_value();
}

Result<bool> CacheService::ContainsBeforeCreate(const std::string& ns, const std::string& key) {
  const bool ask_shared = shared_ && !shared_->shared().PublishRefusesTakenKeys();
  CELLAR_ASSIGN_OR_RETURN(auto entry, LoadEntry(ns, key, /*recover=*/ask_shared));
  return entry.has_value();
}

Result<std::unique_ptr<PendingPut>> CacheService::BeginPut(PutOptions options) {
  const std::optional<uint64_t> expected = options.expected_size;
  if (expected) {
    const uint64_t ceiling = budget_.Ceiling();
    if (*expected + options_.blob_overhead_bytes > ceiling) {
      metrics_.rejected.With({ProtocolOf(options.ns), "full"}).Inc();
      return Status::ResourceExhausted("a body of " + std::to_string(*expected) +
                                       " bytes is larger than the store can hold (" +
                                       std::to_string(ceiling) + " bytes)");
    }
  }
  auto writer = blobs_.NewWriter();
  if (!writer.ok()) return StorageError(writer.error(), "new blob", options.ns, options.key);
  auto put = std::unique_ptr<PendingPut>(new PendingPut(*this, std::move(options), std::move(*writer)));
  (void)put->TryReserve(expected.value_or(0));  // else Reserve() or Write() evicts
  return put;
}

Status CacheService::ReserveEvicting(uint64_t bytes) {
  if (budget_.TryReserve(bytes)) return Status();
  auto full = [&] {
    return Status::ResourceExhausted(
        "storage is full: " + std::to_string(bytes) + " more bytes do not fit in " +
        std::to_string(budget_.Limit()) +
        " and the rest is held by uploads in progress, blobs being read or blobs waiting for their upload to "
        "the bucket");
  };
  if (bytes > budget_.Ceiling()) return full();
  std::lock_guard lock(eviction_mu_);
  EvictionReport report;
  while (true) {
    // Garbage first: unreferenced blobs cost nothing to drop, now that the
    // store needs their room more than a racing upload might need them.
    auto collected = CollectBlobs(clock_.NowUnixMs() + 1, report);
    if (!collected.ok()) return StorageError(collected.error(), "make room: collect", "", "");
    if (budget_.TryReserve(bytes)) break;
    const uint64_t shortfall = budget_.Shortfall(bytes);
    if (shortfall == 0) continue;  // room appeared meanwhile: try again
    auto freed = EvictLeastRecentlyUsed(shortfall, report);
    if (!freed.ok()) return StorageError(freed.error(), "make room: evict", "", "");
    if (*freed == 0 && *collected == 0) return full();
  }
  if (report.entries_evicted > 0) metrics_.evictions.With({"size"}).Inc(report.entries_evicted);
  return Status();
}

Result<index::Entry> CacheService::CommitPut(PutOptions& options, store::BlobWriter& writer,
                                             uint64_t bytes) {
  std::shared_lock gc_lock(gc_mu_);
  auto committed = writer.Commit();
  if (!committed.ok()) {
    if (committed.error().code() == Code::kResourceExhausted) budget_.NoteDiskFull();
    return StorageError(committed.error(), "blob commit", options.ns, options.key);
  }
  const store::BlobInfo blob = *committed;
  int64_t now = clock_.NowUnixMs();
  index::Entry entry;
  entry.ns = options.ns;
  entry.key = options.key;
  entry.digest = blob.digest;
  entry.size = bytes;
  entry.content_type = options.content_type;
  entry.created_ms = now;
  entry.last_access_ms = now;
  entry.fetched_at_ms = now;
  entry.max_age_ms = options.max_age_ms;
  entry.attributes = options.attributes;
  if (Shares(options)) {
    // Published before the local entry exists, so this node never answers
    // a hit that other nodes cannot recover. The blob is already in the
    // bucket (the tiered store writes through), as Publish requires.
    Status published = shared_->shared().Publish(entry, options.mode);
    if (!published.ok()) {
      RecordOrphan(blob, now);
      metrics_.shared_entries.With({"publish_error"}).Inc();
      if (published.code() == Code::kAlreadyExists) {
        // Another node's write of the key won: it is in the bucket now, so
        // a miss remembered before this write (its existence check) must
        // not hide it from the next lookup here.
        shared_->ForgetMiss(entry.ns, entry.key);
        return Status::AlreadyExists(entry.key + " exists");
      }
      return StorageError(published, "publish shared entry", options.ns, options.key);
    }
    shared_->ForgetMiss(entry.ns, entry.key);
    metrics_.shared_entries.With({"published"}).Inc();
  } else if (SharesDocument(options)) {
    // A mutable document is shared so that another node can serve it while
    // it is fresh without asking the upstream; the newest fetch replaces
    // the copy. Failing to share it costs the other nodes an upstream
    // request, not this client its answer.
    Status published = shared_->shared().Publish(entry, index::PutMode::kOverwrite);
    if (published.ok()) {
      shared_->ForgetMiss(entry.ns, entry.key);
      metrics_.shared_entries.With({"published"}).Inc();
    } else {
      metrics_.shared_entries.With({"publish_error"}).Inc();
      Log(LogLevel::kWarn, "mutable document not shared",
          "\"ns\":\"" + JsonEscape(entry.ns) + "\",\"key\":\"" + JsonEscape(entry.key) + "\",\"error\":\"" +
              JsonEscape(published.ToString()) + "\"");
    }
  }
  const uint64_t sequence = entries_.write_sequence(entry.ns, entry.key);
  auto put = index_.Put(entry, blob.stored_size, options.mode);
  if (!put.ok()) {
    // The blob is on disk but nothing references it: hand it to GC.
    RecordOrphan(blob, now);
    const Status& s = put.error();
    if (s.code() == Code::kAlreadyExists) return s;
    return StorageError(s, "index put", options.ns, options.key);
  }
  // Only a blob new to the index adds bytes: a deduplicated commit adds none.
  if (put->new_blob) budget_.AddStored(blob.stored_size);
  entries_.Store(entry, sequence);
  metrics_.puts.With({ProtocolOf(options.ns)}).Inc();
  metrics_.put_bytes.With({ProtocolOf(options.ns)}).Inc(bytes);
  return entry;
}

Status CacheService::MarkFetched(const std::string& ns, const std::string& key, const std::string* attributes) {
  std::shared_lock gc_lock(gc_mu_);  // the blob must not be collected in between
  const uint64_t sequence = entries_.write_sequence(ns, key);
  CELLAR_ASSIGN_OR_RETURN(auto entry, index_.Get(ns, key));
  if (!entry) return Status::NotFound(ns + "/" + key + " is not cached");
  entry->fetched_at_ms = clock_.NowUnixMs();
  if (attributes) entry->attributes = *attributes;
  CELLAR_RETURN_IF_ERROR(index_.Put(*entry, 0, index::PutMode::kOverwrite).status());
  entries_.Store(*entry, sequence);
  return Status();
}

Status CacheService::Delete(const std::string& ns, const std::string& key) {
  if (shared_) {
    // Any entry may have been published, here or by another node (mutable
    // documents too; local_only ones never were, and withdrawing what is
    // absent is fine).
    Status withdrawn = shared_->shared().Withdraw(ns, key);
    if (!withdrawn.ok()) return StorageError(withdrawn, "withdraw shared entry", ns, key);
    shared_->RememberMiss(ns, key);
  }
  Status s = index_.Delete(ns, key);
  entries_.Erase(ns, key);
  return s.ok() ? s : StorageError(s, "index delete", ns, key);
}

Status CacheService::DropLocalEntry(const std::string& ns, const std::string& key, const Digest& digest) {
  auto removed = index_.DeleteIfDigest(ns, key, digest);
  entries_.Erase(ns, key);
  // The next lookup must ask the shared entries, not remember a miss.
  if (shared_) shared_->ForgetMiss(ns, key);
  return removed.status();
}

void CacheService::Pin(const Digest& d) {
  std::lock_guard lock(pins_mu_);
  ++pins_[d];
}

void CacheService::Unpin(const Digest& d) {
  std::lock_guard lock(pins_mu_);
  auto it = pins_.find(d);
  if (it != pins_.end() && --it->second == 0) pins_.erase(it);
}

bool CacheService::IsPinned(const Digest& d) {
  {
    std::lock_guard lock(pins_mu_);
    if (pins_.count(d) > 0) return true;
  }
  // The store's own pins: a blob still waiting for its upload to the bucket
  // (--s3-upload=async) is the only copy; eviction and GC leave it for a
  // later pass, and evicting its entries would free nothing.
  return blobs_.Pinned(d);
}

Result<index::DeleteOutcome> CacheService::EvictEntry(const index::Entry& victim, std::string_view reason) {
  auto outcome = index_.DeleteIfDigest(victim.ns, victim.key, victim.digest);
  if (!outcome.ok() && outcome.error().code() == Code::kResourceExhausted && !IsPinned(victim.digest)) {
    // The disk is too full for SQLite to write the delete. Remove the blob
    // file first to give it room; other entries sharing the blob then read
    // as misses and are dropped by Get.
    {
      std::unique_lock gc_lock(gc_mu_);
      (void)blobs_.Remove(victim.digest);
    }
    outcome = index_.DeleteIfDigest(victim.ns, victim.key, victim.digest);
  }
  entries_.Erase(victim.ns, victim.key);
  if (outcome.ok() && outcome->deleted && options_.on_evict) options_.on_evict(victim, reason);
  return outcome;
}

Result<uint64_t> CacheService::EvictEntries(const std::vector<index::Entry>& victims,
                                            uint64_t* evicted) {
  uint64_t freed = 0;
  for (const auto& v : victims) {
    CELLAR_ASSIGN_OR_RETURN(index::DeleteOutcome outcome, EvictEntry(v, "ttl"));
    if (!outcome.deleted) continue;  // replaced or deleted since it was listed
    ++*evicted;
    if (outcome.unreferenced_blob) freed += outcome.unreferenced_blob->stored_size;
  }
  return freed;
}

Result<uint64_t> CacheService::EvictLeastRecentlyUsed(uint64_t bytes, EvictionReport& report) {
  // Evicting an entry frees nothing until its blob is collected, and a blob
  // shared by several entries (or several keys of one content) frees
  // nothing until the last of them is gone. Count what the index says lost
  // its last reference, at its stored (compressed) size.
  uint64_t projected = 0;
  while (projected < bytes) {
    CELLAR_ASSIGN_OR_RETURN(auto victims, index_.LeastRecentlyUsed(kEvictionBatch));
    uint64_t deleted = 0;
    for (const auto& v : victims) {
      if (projected >= bytes) break;
      if (IsPinned(v.digest)) continue;
      CELLAR_ASSIGN_OR_RETURN(index::DeleteOutcome outcome, EvictEntry(v, "size"));
      if (!outcome.deleted) continue;
      ++deleted;
      if (outcome.unreferenced_blob) projected += outcome.unreferenced_blob->stored_size;
    }
    report.entries_evicted += deleted;
    if (deleted == 0) break;
  }
  return projected;
}

Result<uint64_t> CacheService::CollectBlobs(int64_t cutoff, EvictionReport& report) {
  uint64_t removed = 0;
  while (true) {
    CELLAR_ASSIGN_OR_RETURN(auto rows, index_.UnreferencedBlobs(cutoff, kEvictionBatch));
    size_t progressed = 0;
    for (const auto& row : rows) {
      std::unique_lock gc_lock(gc_mu_);
      // Checked under the gc lock: no commit (which may pin the blob again,
      // in the store or by a reader's Hit) runs until the blob is removed.
      if (IsPinned(row.digest)) continue;
      auto forgotten = index_.ForgetBlobIfUnreferenced(row.digest);
      if (!forgotten.ok() && forgotten.error().code() == Code::kResourceExhausted) {
        // No room for SQLite to forget the row: delete the (unreferenced)
        // file first, then try again with the room it gave back.
        CELLAR_RETURN_IF_ERROR(blobs_.Remove(row.digest));
        forgotten = index_.ForgetBlobIfUnreferenced(row.digest);
      }
      CELLAR_ASSIGN_OR_RETURN(bool gone, std::move(forgotten));
      if (!gone) continue;
      CELLAR_RETURN_IF_ERROR(blobs_.Remove(row.digest));
      budget_.SubtractStored(row.stored_size);
      ++progressed;
      ++removed;
      report.bytes_removed += row.stored_size;
      metrics_.blobs_collected.With({}).Inc();
    }
    if (rows.size() < kEvictionBatch || progressed == 0) break;
  }
  report.blobs_removed += removed;
  return removed;
}

Result<EvictionReport> CacheService::RunEviction() {
  std::lock_guard lock(eviction_mu_);
  EvictionReport report;
  CELLAR_RETURN_IF_ERROR(index_.Flush());  // LRU order needs recent accesses

  if (options_.ttl_ms > 0) {
    int64_t cutoff = clock_.NowUnixMs() - options_.ttl_ms;
    while (true) {
      CELLAR_ASSIGN_OR_RETURN(auto victims, index_.AccessedBefore(cutoff, kEvictionBatch));
      uint64_t expired = 0;
      CELLAR_RETURN_IF_ERROR(EvictEntries(victims, &expired).status());
      report.entries_expired += expired;
      metrics_.evictions.With({"ttl"}).Inc(expired);
      if (victims.size() < kEvictionBatch || expired == 0) break;
    }
  }

  CELLAR_ASSIGN_OR_RETURN(auto totals, ResyncStoredBytes());
  // Watermarks of the limit now: --max-size, or less on a file system that
  // cannot hold that much.
  const uint64_t limit = budget_.Limit();
  const auto high = static_cast<uint64_t>(limit * options_.high_watermark);
  const auto low = static_cast<uint64_t>(limit * options_.low_watermark);
  if (totals.stored_bytes > high) {
    uint64_t before = report.entries_evicted;
    CELLAR_RETURN_IF_ERROR(EvictLeastRecentlyUsed(totals.stored_bytes - low, report).status());
    metrics_.evictions.With({"size"}).Inc(report.entries_evicted - before);
  }

  // Evicted blobs are reclaimed at once when over the limit; otherwise they
  // wait out the grace period (a racing upload may re-reference them).
  int64_t cutoff = report.entries_evicted > 0 ? clock_.NowUnixMs() + 1
                                              : clock_.NowUnixMs() - options_.gc_grace_ms;
  CELLAR_RETURN_IF_ERROR(CollectBlobs(cutoff, report).status());

  CELLAR_ASSIGN_OR_RETURN(auto after, ResyncStoredBytes());
  budget_.RecheckDisk();
  report.stored_bytes_after = after.stored_bytes;
  metrics_.store_bytes.With({}).Set(static_cast<double>(after.stored_bytes));
  metrics_.store_blobs.With({}).Set(static_cast<double>(after.blobs));
  metrics_.store_entries.With({}).Set(static_cast<double>(after.entries));
  return report;
}

Result<index::Totals> CacheService::ResyncStoredBytes() {
  const uint64_t seen = budget_.stored();
  CELLAR_ASSIGN_OR_RETURN(auto totals, index_.GetTotals());
  budget_.Resync(totals.stored_bytes, seen);
  return totals;
}

Result<uint64_t> CacheService::AdoptOrphanBlobs() {
  uint64_t adopted = 0;
  Status inner;
  int64_t now = clock_.NowUnixMs();
  Status s = blobs_.ForEach([&](const store::BlobInfo& info) {
    if (!inner.ok()) return;
    auto has = index_.HasBlob(info.digest);
    if (!has.ok()) {
      inner = has.error();
      return;
    }
    if (*has) return;
    inner = index_.RecordOrphanBlob({info.digest, info.size, info.stored_size}, now);
    if (inner.ok()) budget_.AddStored(info.stored_size);  // on disk all along
    ++adopted;
  });
  CELLAR_RETURN_IF_ERROR(s);
  CELLAR_RETURN_IF_ERROR(inner);
  return adopted;
}

bool CacheService::Shares(const PutOptions& options) const {
  return shared_ != nullptr && options.max_age_ms == 0 && !options.local_only;
}

bool CacheService::SharesDocument(const PutOptions& options) const {
  return shared_ != nullptr && options.max_age_ms > 0 && !options.local_only;
}

void CacheService::ForgetSharedMiss(const std::string& ns, const std::string& key) {
  if (shared_) shared_->ForgetMiss(ns, key);
}

}  // namespace cellar::core
