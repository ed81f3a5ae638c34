#include "index/mem_index.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <tuple>

namespace cellar::index {

namespace {

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Same order as SqliteIndex: last access, then (ns, key).
bool AccessedEarlier(const Entry* a, const Entry* b) {
  return std::tie(a->last_access_ms, a->ns, a->key) < std::tie(b->last_access_ms, b->ns, b->key);
}

}  // namespace

MemIndex::MemIndex(std::function<int64_t()> now_ms)
    : now_ms_(now_ms ? std::move(now_ms) : SystemNowMs) {}

void MemIndex::AddRef(const Digest& digest) { ++blobs_.at(digest).refcount; }

void MemIndex::DropRef(const Digest& digest) {
  Blob& blob = blobs_.at(digest);
  if (--blob.refcount == 0) blob.unreferenced_since_ms = now_ms_();
}

Result<std::optional<Entry>> MemIndex::Get(const std::string& ns, const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(EntryKey(ns, key));
  if (it == entries_.end()) return std::optional<Entry>();
  return std::optional<Entry>(it->second);
}

Result<PutOutcome> MemIndex::Put(const Entry& entry, uint64_t stored_size, PutMode mode) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(EntryKey(entry.ns, entry.key));
  if (it != entries_.end() && mode == PutMode::kIfAbsent) {
    return Status::AlreadyExists("index put " + entry.ns + " " + entry.key + ": entry exists");
  }
  // An existing blob row keeps its sizes, as in SqliteIndex.
  PutOutcome outcome;
  outcome.new_blob = blobs_.try_emplace(entry.digest, Blob{entry.size, stored_size, 0, now_ms_()}).second;
  // Add before dropping, so overwriting with the same digest never passes
  // through zero references.
  AddRef(entry.digest);
  if (it == entries_.end()) {
    entries_.emplace(EntryKey(entry.ns, entry.key), entry);
  } else {
    DropRef(it->second.digest);
    it->second = entry;
  }
  return outcome;
}

Status MemIndex::Delete(const std::string& ns, const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(EntryKey(ns, key));
  if (it == entries_.end()) return Status::Ok();
  DropRef(it->second.digest);
  entries_.erase(it);
  return Status::Ok();
}

Result<DeleteOutcome> MemIndex::DeleteIfDigest(const std::string& ns, const std::string& key,
                                               const Digest& digest) {
  std::lock_guard lock(mu_);
  DeleteOutcome outcome;
  auto it = entries_.find(EntryKey(ns, key));
  if (it == entries_.end() || it->second.digest != digest) return outcome;
  DropRef(digest);
  entries_.erase(it);
  outcome.deleted = true;
  const Blob& blob = blobs_.at(digest);
  if (blob.refcount == 0) outcome.unreferenced_blob = BlobRow{digest, blob.size, blob.stored_size};
  return outcome;
}

void MemIndex::RecordAccess(const std::string& ns, const std::string& key, int64_t now_ms) {
  accesses_.Record(ns, key, now_ms);
}

Status MemIndex::Flush() {
  AccessBuffer::Batch batch = accesses_.Take();
  std::lock_guard lock(mu_);
  for (const auto& [key, pending] : batch) {
    auto it = entries_.find(EntryKey(key.ns, key.key));
    if (it == entries_.end()) continue;  // deleted since the access
    it->second.last_access_ms = std::max(it->second.last_access_ms, pending.last_access_ms);
    it->second.hits += pending.hits;
  }
  return Status::Ok();
}

template <typename Pred>
std::vector<Entry> MemIndex::OldestEntries(Pred&& keep, size_t limit) {
  std::vector<const Entry*> matches;
  for (const auto& [key, entry] : entries_) {
    if (keep(entry)) matches.push_back(&entry);
  }
  size_t n = std::min(limit, matches.size());
  std::partial_sort(matches.begin(), matches.begin() + static_cast<ptrdiff_t>(n), matches.end(),
                    AccessedEarlier);
  std::vector<Entry> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(*matches[i]);
  return out;
}

Result<std::vector<Entry>> MemIndex::LeastRecentlyUsed(size_t limit) {
  std::lock_guard lock(mu_);
  return OldestEntries([](const Entry&) { return true; }, limit);
}

Result<std::vector<Entry>> MemIndex::AccessedBefore(int64_t cutoff_ms, size_t limit) {
  std::lock_guard lock(mu_);
  return OldestEntries([&](const Entry& e) { return e.last_access_ms < cutoff_ms; }, limit);
}

Result<std::vector<Entry>> MemIndex::List(const std::string& ns, const std::string& prefix,
                                          size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<Entry> out;
  for (auto it = entries_.lower_bound(EntryKey(ns, prefix));
       it != entries_.end() && out.size() < limit; ++it) {
    if (it->first.first != ns || !it->first.second.starts_with(prefix)) break;
    out.push_back(it->second);
  }
  return out;
}

Result<std::vector<BlobRow>> MemIndex::UnreferencedBlobs(int64_t cutoff_ms, size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<std::pair<int64_t, BlobRow>> matches;  // (since, row)
  for (const auto& [digest, blob] : blobs_) {
    if (blob.refcount == 0 && blob.unreferenced_since_ms < cutoff_ms) {
      matches.push_back({blob.unreferenced_since_ms, BlobRow{digest, blob.size, blob.stored_size}});
    }
  }
  // Oldest first, ties by digest: the same order as SqliteIndex.
  std::sort(matches.begin(), matches.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first, a.second.digest) < std::tie(b.first, b.second.digest);
  });
  std::vector<BlobRow> out;
  for (size_t i = 0; i < matches.size() && i < limit; ++i) out.push_back(matches[i].second);
  return out;
}

Result<bool> MemIndex::ForgetBlobIfUnreferenced(const Digest& digest) {
  std::lock_guard lock(mu_);
  auto it = blobs_.find(digest);
  if (it == blobs_.end() || it->second.refcount != 0) return false;
  blobs_.erase(it);
  return true;
}

Status MemIndex::RecordOrphanBlob(const BlobRow& blob, int64_t now_ms) {
  std::lock_guard lock(mu_);
  blobs_.try_emplace(blob.digest, Blob{blob.size, blob.stored_size, 0, now_ms});
  return Status::Ok();
}

Result<bool> MemIndex::HasBlob(const Digest& digest) {
  std::lock_guard lock(mu_);
  return blobs_.contains(digest);
}

Result<std::vector<Digest>> MemIndex::ReferencedDigests() {
  std::lock_guard lock(mu_);
  std::set<Digest> digests;
  for (const auto& [key, entry] : entries_) digests.insert(entry.digest);
  return std::vector<Digest>(digests.begin(), digests.end());
}

Result<Totals> MemIndex::GetTotals() {
  std::lock_guard lock(mu_);
  Totals totals;
  totals.entries = entries_.size();
  totals.blobs = blobs_.size();
  for (const auto& [digest, blob] : blobs_) totals.stored_bytes += blob.stored_size;
  return totals;
}

Result<std::vector<Entry>> MemIndex::TopEntries(TopOrder order, size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<Entry> all;
  all.reserve(entries_.size());
  for (const auto& [key, entry] : entries_) all.push_back(entry);  // in (ns, key) order
  auto value = [order](const Entry& e) { return order == TopOrder::kMostHit ? e.hits : e.size; };
  std::stable_sort(all.begin(), all.end(), [&](const Entry& a, const Entry& b) { return value(a) > value(b); });
  if (all.size() > limit) all.resize(limit);
  return all;
}

Result<std::vector<Index::NamespaceStats>> MemIndex::StatsByNamespace() {
  std::lock_guard lock(mu_);
  std::vector<NamespaceStats> stats;  // entries_ is ordered by ns already
  for (const auto& [key, entry] : entries_) {
    if (stats.empty() || stats.back().ns != entry.ns) {
      stats.emplace_back();
      stats.back().ns = entry.ns;
    }
    ++stats.back().entries;
    stats.back().bytes += entry.size;
  }
  return stats;
}

}  // namespace cellar::index
