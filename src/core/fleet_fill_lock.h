// FleetFillLock: fleet-wide single-flight for pull-through fills. With
// several nodes on one bucket (`--storage s3 --redis-url ...`), the node
// that fills a key first holds a lease on it while it fetches, verifies and
// publishes the entry; a node asking for the same key meanwhile waits for
// the lease, then finds the entry in the bucket instead of asking the
// upstream again. Filler uses it for immutable, shared entries (npm
// tarballs, Go .info/.mod/.zip, checksum-database tiles), and
// protocols::MutableDocuments for documents a node holds no copy of
// (CacheOptions::document_fill_lock).
//
// The server implements it over Redis (redis::FleetLock); the interface
// keeps core free of Redis and lets tests play the other node. Redis is an
// accelerator: when it is down, or the wait is too long, Acquire returns an
// empty Hold and the node fills on its own.
// Thread-safety: Acquire blocks and may be called from any worker thread.
#pragma once

#include <memory>
#include <string>

namespace cellar::core {

class FleetFillLock {
 public:
  struct Hold {
    std::shared_ptr<void> lease;  // held while this (or a copy) lives; null: not held
    bool waited = false;          // another node held the key while this one waited
  };
  virtual ~FleetFillLock() = default;
  // Waits until this node may fill `key` (LeaseKey: namespace and key made
  // into one string) or gives up.
  virtual Hold Acquire(const std::string& key) = 0;
  // The lease name of a fill of (ns, key), the same for every node and user.
  static std::string LeaseKey(const std::string& ns, const std::string& key) { return "fill:" + ns + "|" + key; }
};

}  // namespace cellar::core
