#include "core/cache_service.h"

#include <algorithm>

#include "hash/blake3.h"

namespace cellar::core {

namespace {
// Metric label: the protocol part of a namespace ("bazel/ac" -> "bazel"), so
// per-team namespaces cannot explode label cardinality.
std::string ProtocolOf(const std::string& ns) { return ns.substr(0, ns.find('/')); }
constexpr size_t kEvictionBatch = 256;
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

PendingPut::~PendingPut() = default;  // an uncommitted writer discards itself

Status PendingPut::Write(std::span<const std::byte> data) {
  if (committed_) return Status::Internal("write after commit");
  if (options_.verifier) options_.verifier->Update(data);
  bytes_ += data.size();
  return writer_->Write(data);
}

Result<index::Entry> PendingPut::Commit() {
  if (committed_) return Status::Internal("commit called twice");
  committed_ = true;
  if (options_.verifier) {
    Status s = options_.verifier->Finish(bytes_);
    if (!s.ok()) {
      cache_.metrics_.rejected.With({ProtocolOf(options_.ns), "verification"}).Inc();
      writer_.reset();
      return s;
    }
  }
  return cache_.CommitPut(options_, *writer_, bytes_);
}

CacheService::CacheService(store::BlobStore& blobs, index::Index& index, env::Clock& clock,
                           CacheMetrics& metrics, CacheOptions options)
    : blobs_(blobs), index_(index), clock_(clock), metrics_(metrics), options_(options),
      entries_(options.entry_cache_entries), small_blobs_(options.small_blob_cache_bytes) {
  if (auto totals = index_.GetTotals(); totals.ok()) approx_bytes_ = totals->stored_bytes;
  metrics_.store_max_bytes.With({}).Set(static_cast<double>(options_.max_bytes));
}

CacheService::~CacheService() { (void)index_.Flush(); }

Result<std::optional<index::Entry>> CacheService::LoadEntry(const std::string& ns,
                                                            const std::string& key) {
  if (auto cached = entries_.Get(ns, key)) return cached;
  uint64_t sequence = entries_.write_sequence();
  CELLAR_ASSIGN_OR_RETURN(auto entry, index_.Get(ns, key));
  if (entry) entries_.FillIfUnchanged(*entry, sequence);
  return entry;
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
  CELLAR_ASSIGN_OR_RETURN(auto entry, LoadEntry(ns, key));
  if (!entry) {
    metrics_.lookups.With({ProtocolOf(ns), "miss"}).Inc();
    return std::optional<std::unique_ptr<Hit>>();
  }
  CELLAR_ASSIGN_OR_RETURN(auto reader, OpenBlob(*entry));
  if (!reader) {
    // The bytes are gone (scrubbed or removed by hand): forget the entry so
    // the next request refills it, and report a miss.
    (void)index_.Delete(ns, key);
    entries_.Erase(ns, key);
    metrics_.lookups.With({ProtocolOf(ns), "miss"}).Inc();
    return std::optional<std::unique_ptr<Hit>>();
  }
  index_.RecordAccess(ns, key, clock_.NowUnixMs());
  metrics_.lookups.With({ProtocolOf(ns), "hit"}).Inc();
  return std::optional<std::unique_ptr<Hit>>(
      std::unique_ptr<Hit>(new Hit(*this, std::move(*entry), std::move(*reader))));
}

Result<std::optional<index::Entry>> CacheService::Lookup(const std::string& ns,
                                                         const std::string& key) {
  CELLAR_ASSIGN_OR_RETURN(auto entry, LoadEntry(ns, key));
  metrics_.lookups.With({ProtocolOf(ns), entry ? "hit" : "miss"}).Inc();
  if (entry) index_.RecordAccess(ns, key, clock_.NowUnixMs());
  return entry;
}

Result<bool> CacheService::Contains(const std::string& ns, const std::string& key) {
  CELLAR_ASSIGN_OR_RETURN(auto entry, LoadEntry(ns, key));
  return entry.has_value();
}

Result<std::unique_ptr<PendingPut>> CacheService::BeginPut(PutOptions options) {
  if (approx_bytes_.load() >= options_.max_bytes) {
    metrics_.rejected.With({ProtocolOf(options.ns), "full"}).Inc();
    return Status::ResourceExhausted("cache is full (" + std::to_string(options_.max_bytes) +
                                     " bytes) and eviction has not caught up");
  }
  CELLAR_ASSIGN_OR_RETURN(auto writer, blobs_.NewWriter());
  return std::unique_ptr<PendingPut>(new PendingPut(*this, std::move(options), std::move(writer)));
}

Result<index::Entry> CacheService::CommitPut(PutOptions& options, store::BlobWriter& writer,
                                             uint64_t bytes) {
  std::shared_lock gc_lock(gc_mu_);
  CELLAR_ASSIGN_OR_RETURN(store::BlobInfo blob, writer.Commit());
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
  Status s = index_.Put(entry, blob.stored_size, options.mode);
  if (!s.ok()) {
    // The blob is on disk but nothing references it: hand it to GC.
    (void)index_.RecordOrphanBlob({blob.digest, blob.size, blob.stored_size}, now);
    if (s.code() == Code::kAlreadyExists) return s;
    return s.WithContext("index put " + options.ns + "/" + options.key);
  }
  entries_.Put(entry);
  approx_bytes_ += blob.stored_size;
  metrics_.puts.With({ProtocolOf(options.ns)}).Inc();
  metrics_.put_bytes.With({ProtocolOf(options.ns)}).Inc(bytes);
  return entry;
}

Status CacheService::MarkFetched(const std::string& ns, const std::string& key, const std::string* attributes) {
  std::shared_lock gc_lock(gc_mu_);  // the blob must not be collected in between
  CELLAR_ASSIGN_OR_RETURN(auto entry, index_.Get(ns, key));
  if (!entry) return Status::NotFound(ns + "/" + key + " is not cached");
  entry->fetched_at_ms = clock_.NowUnixMs();
  if (attributes) entry->attributes = *attributes;
  CELLAR_RETURN_IF_ERROR(index_.Put(*entry, 0, index::PutMode::kOverwrite));
  entries_.Put(*entry);
  return Status();
}

Status CacheService::Delete(const std::string& ns, const std::string& key) {
  Status s = index_.Delete(ns, key);
  entries_.Erase(ns, key);
  return s;
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
  std::lock_guard lock(pins_mu_);
  return pins_.count(d) > 0;
}

Result<uint64_t> CacheService::EvictEntries(const std::vector<index::Entry>& victims) {
  uint64_t n = 0;
  for (const auto& e : victims) {
    Status s = index_.Delete(e.ns, e.key);
    entries_.Erase(e.ns, e.key);
    CELLAR_RETURN_IF_ERROR(s);
    ++n;
  }
  return n;
}

Result<uint64_t> CacheService::CollectBlobs(int64_t cutoff, EvictionReport& report) {
  uint64_t removed = 0;
  while (true) {
    CELLAR_ASSIGN_OR_RETURN(auto rows, index_.UnreferencedBlobs(cutoff, kEvictionBatch));
    size_t progressed = 0;
    for (const auto& row : rows) {
      if (IsPinned(row.digest)) continue;
      std::unique_lock gc_lock(gc_mu_);
      CELLAR_ASSIGN_OR_RETURN(bool forgotten, index_.ForgetBlobIfUnreferenced(row.digest));
      if (!forgotten) continue;
      CELLAR_RETURN_IF_ERROR(blobs_.Remove(row.digest));
      ++progressed;
      ++removed;
      report.bytes_removed += row.stored_size;
      metrics_.blobs_collected.With({}).Inc();
    }
    if (rows.size() < kEvictionBatch || progressed == 0) break;
  }
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
      CELLAR_ASSIGN_OR_RETURN(uint64_t n, EvictEntries(victims));
      report.entries_expired += n;
      metrics_.evictions.With({"ttl"}).Inc(n);
      if (victims.size() < kEvictionBatch) break;
    }
  }

  CELLAR_ASSIGN_OR_RETURN(auto totals, index_.GetTotals());
  const auto high = static_cast<uint64_t>(options_.max_bytes * options_.high_watermark);
  const auto low = static_cast<uint64_t>(options_.max_bytes * options_.low_watermark);
  if (totals.stored_bytes > high) {
    // Evicting an entry frees nothing until its blob is collected, and a
    // blob shared by several entries frees nothing until all are gone. Count
    // each distinct blob once as the estimate of what will be freed.
    uint64_t projected = totals.stored_bytes;
    while (projected > low) {
      CELLAR_ASSIGN_OR_RETURN(auto victims, index_.LeastRecentlyUsed(kEvictionBatch));
      if (victims.empty()) break;
      std::vector<index::Entry> chosen;
      for (auto& v : victims) {
        if (projected <= low) break;
        if (IsPinned(v.digest)) continue;
        projected -= std::min(projected, v.size);
        chosen.push_back(std::move(v));
      }
      if (chosen.empty()) break;
      CELLAR_ASSIGN_OR_RETURN(uint64_t n, EvictEntries(chosen));
      report.entries_evicted += n;
      metrics_.evictions.With({"size"}).Inc(n);
    }
  }

  // Evicted blobs are reclaimed at once when over the limit; otherwise they
  // wait out the grace period (a racing upload may re-reference them).
  int64_t cutoff = report.entries_evicted > 0 ? clock_.NowUnixMs() + 1
                                              : clock_.NowUnixMs() - options_.gc_grace_ms;
  CELLAR_ASSIGN_OR_RETURN(report.blobs_removed, CollectBlobs(cutoff, report));

  CELLAR_ASSIGN_OR_RETURN(auto after, index_.GetTotals());
  approx_bytes_ = after.stored_bytes;
  report.stored_bytes_after = after.stored_bytes;
  metrics_.store_bytes.With({}).Set(static_cast<double>(after.stored_bytes));
  metrics_.store_blobs.With({}).Set(static_cast<double>(after.blobs));
  metrics_.store_entries.With({}).Set(static_cast<double>(after.entries));
  return report;
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
    ++adopted;
  });
  CELLAR_RETURN_IF_ERROR(s);
  CELLAR_RETURN_IF_ERROR(inner);
  return adopted;
}

}  // namespace cellar::core
