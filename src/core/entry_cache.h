// EntryCache: a bounded, in-memory LRU of index entries in front of the
// Index, so repeated hits on hot keys skip the SQLite lookup. CacheService
// is the only writer of the index and keeps this cache coherent: every put,
// delete and eviction goes through it and updates or erases the cached
// entry. Access times and hit counts are not read from here.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "index/index.h"

namespace cellar::core {

class EntryCache {
 public:
  explicit EntryCache(size_t capacity) : capacity_(capacity) {}

  std::optional<index::Entry> Get(const std::string& ns, const std::string& key);
  // Writers (puts, deletes, evictions) call these after changing the index.
  void Put(const index::Entry& entry);
  void Erase(const std::string& ns, const std::string& key);

  // Readers that load an entry from the index remember the write sequence
  // before reading and insert with FillIfUnchanged(); the insert is skipped
  // when any write happened meanwhile, so a slow reader can never put an
  // entry back that a concurrent writer had replaced.
  uint64_t write_sequence();
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

  void InsertLocked(const index::Entry& entry);

  const size_t capacity_;
  std::mutex mu_;
  uint64_t writes_ = 0;  // GUARDED_BY(mu_)
  std::list<std::string> lru_;  // most recent first; GUARDED_BY(mu_)
  struct Slot {
    index::Entry entry;
    std::list<std::string>::iterator pos;
  };
  std::unordered_map<std::string, Slot> map_;  // GUARDED_BY(mu_)
};

}  // namespace cellar::core
