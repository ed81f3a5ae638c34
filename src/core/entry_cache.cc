#include "core/entry_cache.h"

namespace cellar::core {

std::optional<index::Entry> EntryCache::Get(const std::string& ns, const std::string& key) {
  if (capacity_ == 0) return std::nullopt;
  std::string k = KeyOf(ns, key);
  std::lock_guard lock(mu_);
  auto it = map_.find(k);
  if (it == map_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second.pos);
  return it->second.entry;
}

uint64_t EntryCache::write_sequence(const std::string& ns, const std::string& key) {
  if (capacity_ == 0) return 0;
  const size_t stripe = StripeOf(KeyOf(ns, key));
  std::lock_guard lock(mu_);
  return writes_[stripe];
}

void EntryCache::Store(const index::Entry& entry, uint64_t sequence) {
  if (capacity_ == 0) return;
  std::string k = KeyOf(entry.ns, entry.key);
  const size_t stripe = StripeOf(k);
  std::lock_guard lock(mu_);
  // Another write reached the cache after this writer began: which of the
  // two the index kept is unknown here, so keep neither.
  if (writes_[stripe]++ != sequence) {
    EraseLocked(k);
    return;
  }
  InsertLocked(entry);
}

void EntryCache::FillIfUnchanged(const index::Entry& entry, uint64_t sequence) {
  if (capacity_ == 0) return;
  std::string k = KeyOf(entry.ns, entry.key);
  const size_t stripe = StripeOf(k);
  std::lock_guard lock(mu_);
  if (writes_[stripe] != sequence) return;
  InsertLocked(entry);
}

void EntryCache::InsertLocked(const index::Entry& entry) {
  std::string k = KeyOf(entry.ns, entry.key);
  auto it = map_.find(k);
  if (it != map_.end()) {
    it->second.entry = entry;
    lru_.splice(lru_.begin(), lru_, it->second.pos);
    return;
  }
  lru_.push_front(k);
  map_.emplace(std::move(k), Slot{entry, lru_.begin()});
  if (map_.size() > capacity_) {
    map_.erase(lru_.back());
    lru_.pop_back();
  }
}

void EntryCache::EraseLocked(const std::string& k) {
  auto it = map_.find(k);
  if (it == map_.end()) return;
  lru_.erase(it->second.pos);
  map_.erase(it);
}

void EntryCache::Erase(const std::string& ns, const std::string& key) {
  if (capacity_ == 0) return;
  std::string k = KeyOf(ns, key);
  const size_t stripe = StripeOf(k);
  std::lock_guard lock(mu_);
  ++writes_[stripe];
  EraseLocked(k);
}

}  // namespace cellar::core
