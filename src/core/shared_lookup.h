// SharedLookup: the read side of index::SharedEntries as CacheService uses
// it on a local index miss. Concurrent lookups of one key share one request
// (single-flight), and a key found absent, or not found because the shared
// store failed, is remembered for `miss_ttl_ms` so a storm of misses (a CI
// fleet asking for artifacts nobody built yet, or a bucket that is down)
// costs one request per key and period, not one per client.
// Thread-safety: every method may be called concurrently. Find() blocks on
// the network: worker threads only. `shared` and `clock` must outlive this.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/status.h"
#include "core/single_flight.h"
#include "env/clock.h"
#include "index/shared_entries.h"

namespace cellar::core {

struct SharedLookupOptions {
  int64_t miss_ttl_ms = 5'000;
  size_t max_remembered_misses = 65'536;  // beyond this the memory is cleared
};

class SharedLookup {
 public:
  SharedLookup(index::SharedEntries& shared, const env::Clock& clock, SharedLookupOptions options);

  // The shared entry, nullopt when absent or remembered absent; the shared
  // store's error when it failed (remembered as a miss too).
  Result<std::optional<index::Entry>> Find(const std::string& ns, const std::string& key);
  // Forgets a remembered miss (the key was just written here).
  void ForgetMiss(const std::string& ns, const std::string& key);
  // Remembers a miss found another way (the entry was withdrawn, or names a
  // blob the bucket lost).
  void RememberMiss(const std::string& ns, const std::string& key) { RememberMissKey(FlightKey(ns, key)); }

  index::SharedEntries& shared() { return shared_; }
  // Requests made to the shared store.
  uint64_t requests() const;
  // Callers waiting for a lookup of (ns, key) in flight.
  int WaitersForTest(const std::string& ns, const std::string& key) {
    return flights_.WaitersForTest(FlightKey(ns, key));
  }

 private:
  static std::string FlightKey(const std::string& ns, const std::string& key);
  void RememberMissKey(const std::string& flight_key);
  // True while a miss of `flight_key` is remembered (forgets expired ones).
  bool RememberedMiss(const std::string& flight_key);

  index::SharedEntries& shared_;
  const env::Clock& clock_;
  const SharedLookupOptions options_;
  SingleFlight<Result<std::optional<index::Entry>>> flights_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> misses_;  // GUARDED_BY(mu_): key -> expiry (unix ms)
  uint64_t requests_ = 0;                            // GUARDED_BY(mu_)
};

}  // namespace cellar::core
