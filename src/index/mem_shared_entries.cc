#include "index/mem_shared_entries.h"

namespace cellar::index {

namespace {
Status Down() { return Status::Unavailable("shared entries: the bucket cannot be reached (test)"); }
}  // namespace

Status MemSharedEntries::Publish(const Entry& entry, PutMode mode) {
  std::lock_guard lock(mu_);
  ++publishes_;
  callers_.insert(std::this_thread::get_id());
  if (down) return Down();
  auto id = std::make_pair(entry.ns, entry.key);
  if (mode == PutMode::kIfAbsent && entries_.count(id)) return Status::AlreadyExists(entry.key + " is published");
  Entry shared = entry;  // what a manifest keeps
  shared.hits = 0;
  shared.last_access_ms = 0;
  if (shared.max_age_ms == 0) shared.fetched_at_ms = 0;  // a mutable document's manifest keeps its age
  entries_[id] = std::move(shared);
  return Status();
}

Result<std::optional<Entry>> MemSharedEntries::Find(const std::string& ns, const std::string& key) {
  std::lock_guard lock(mu_);
  ++finds_;
  callers_.insert(std::this_thread::get_id());
  if (down) return Down();
  auto it = entries_.find({ns, key});
  if (it == entries_.end()) return std::optional<Entry>();
  return std::optional<Entry>(it->second);
}

Status MemSharedEntries::Withdraw(const std::string& ns, const std::string& key) {
  std::lock_guard lock(mu_);
  callers_.insert(std::this_thread::get_id());
  if (down) return Down();
  entries_.erase({ns, key});
  return Status();
}

int MemSharedEntries::finds() const {
  std::lock_guard lock(mu_);
  return finds_;
}

int MemSharedEntries::publishes() const {
  std::lock_guard lock(mu_);
  return publishes_;
}

size_t MemSharedEntries::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::set<std::thread::id> MemSharedEntries::caller_threads() const {
  std::lock_guard lock(mu_);
  return callers_;
}

}  // namespace cellar::index
