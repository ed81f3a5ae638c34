// EntryCache: a bounded, in-memory LRU of index entries in front of the
// Index, so repeated hits on hot keys skip the SQLite lookup. CacheService
// is the only writer of the index and keeps this cache coherent: every put,
// delete and eviction goes through it and updates or erases the cached
// entry. Access times and hit counts are not read from here.
//
// The cache never holds an entry older than the index's. Two writers of one
// key may change the index in one order and reach this cache in the other,
// so a writer's entry is cached only when no other write of the key (or of
// a key sharing its sequence stripe) reached the cache since the writer
// began; otherwise the key is dropped and the next reader loads it.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <functional>
#include <string>
#include <unordered_map>

#include "index/index.h"

namespace cellar::core {

class EntryCache {
 public:
  explicit EntryCache(size_t capacity) : capacity_(capacity) {}

  std::optional<index::Entry> Get(const std::string& ns, const std::string& key);

  // The key's write sequence: read it before touching the index.
  uint64_t write_sequence(const std::string& ns, const std::string& key);
  // Writers (puts) call this after changing the index, with the sequence
  // read before: caches `entry` when no other write of the key came in
  // between, else drops the key.
  void Store(const index::Entry& entry, uint64_t sequence);
  // Writers (deletes, evictions) call this after changing the index.
  void Erase(const std::string& ns, const std::string& key);
  // Readers that loaded `entry` from the index: caches it unless a write of
  // the key came in between, so a slow reader can never put back an entry
  // that a concurrent writer had replaced.
  void FillIfUnchanged(const index::Entry& entry, uint64_t sequence);

 private:
  static std::string KeyOf(const std::string& ns, const std::string& key) {
    std::string k;
    k.reserve(ns.size() + key.size() + 1);
    k += ns;
    k.push_back('\0');  // cannot occur in validated namespaces
    k += key;
    return k;
  }

  static constexpr size_t kStripes = 64;
  static size_t StripeOf(const std::string& k) { return std::hash<std::string>()(k) % kStripes; }
  void InsertLocked(const index::Entry& entry);
  void EraseLocked(const std::string& k);

  const size_t capacity_;
  std::mutex mu_;
  // Writes per stripe of keys: a write bumps its key's stripe, so a busy
  // key elsewhere does not keep every reader from filling.
  std::array<uint64_t, kStripes> writes_{};  // GUARDED_BY(mu_)
  std::list<std::string> lru_;  // most recent first; GUARDED_BY(mu_)
  struct Slot {
    index::Entry entry;
    std::list<std::string>::iterator pos;
  };
  std::unordered_map<std::string, Slot> map_;  // GUARDED_BY(mu_)
};

}  // namespace cellar::core
