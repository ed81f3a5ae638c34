// SharedEntries: index entries published where every node on a shared blob
// store can read them, so a node whose own index misses (an empty data dir,
// a new machine) can recover the entry instead of answering a miss. Used by
// core::CacheService when blobs live in a shared tier (`--storage s3`).
//
// Immutable entries (max_age_ms == 0: build-cache artifacts and package
// files, whose bytes never change under their key) are published once, and
// a node's commit fails when its publish does. Mutable documents (npm
// packuments, Go lists) are published too, with their fetch time and max
// age, each fetch replacing the last copy, so a node that lacks one serves
// another node's copy while it is fresh. Documents derived from a node's
// own copy (PutOptions::local_only) are not. Why, and the object layout:
// docs/tiered-storage.md.
//
// Implementations: S3SharedEntries (index/s3/s3_shared_entries.h).
// Thread-safety: every method may be called concurrently. Calls block on the
// network: run them on worker threads, never on an I/O thread.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"
#include "index/index.h"

namespace cellar::index {

class SharedEntries {
 public:
  virtual ~SharedEntries() = default;

  // Publishes `entry`. REQUIRES: its blob is already stored where other
  // nodes read it (a published entry must never name a missing blob). With
  // PutMode::kIfAbsent the publish is create-only and fails with
  // kAlreadyExists when another writer published the key first.
  // kUnavailable when the shared store cannot be reached.
  virtual Status Publish(const Entry& entry, PutMode mode) = 0;
  // The published entry for (ns, key), nullopt when none. Per-node fields
  // (hits, last access) are not shared and come back zero.
  virtual Result<std::optional<Entry>> Find(const std::string& ns, const std::string& key) = 0;
  // Removes the published entry (an explicit delete). Absent is OK.
  virtual Status Withdraw(const std::string& ns, const std::string& key) = 0;
  // True when a create-only Publish() itself answers kAlreadyExists for a
  // key another writer published first. A writer then need not Find() the
  // key before writing it: the commit finds out, and a new artifact costs
  // the shared store one request less. False when publishes are deferred
  // (OutboxSharedEntries), so only a lookup tells in time.
  virtual bool PublishRefusesTakenKeys() const = 0;
};

}  // namespace cellar::index
