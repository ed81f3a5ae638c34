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

void EntryCache::Put(const index::Entry& entry) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mu_);
  ++writes_;
  InsertLocked(entry);
}

uint64_t EntryCache::write_sequence() {
  std::lock_guard lock(mu_);
  return writes_;
}

void EntryCache::FillIfUnchanged(const index::Entry& entry, uint64_t sequence) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mu_);
  if (writes_ != sequence) return;
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

void EntryCache::Erase(const std::string& ns, const std::string& key) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mu_);
  ++writes_;
  auto it = map_.find(KeyOf(ns, key));
  if (it == map_.end()) return;
  lru_.erase(it->second.pos);
  map_.erase(it);
}

}  // namespace cellar::core
