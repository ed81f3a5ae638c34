#include "core/shared_lookup.h"

namespace cellar::core {

SharedLookup::SharedLookup(index::SharedEntries& shared, const env::Clock& clock, SharedLookupOptions options)
    : shared_(shared), clock_(clock), options_(options) {}

std::string SharedLookup::FlightKey(const std::string& ns, const std::string& key) {
  std::string k = ns;
  k += '\0';
  k += key;
  return k;
}

void SharedLookup::RememberMissKey(const std::string& flight_key) {
  std::lock_guard lock(mu_);
  if (misses_.size() >= options_.max_remembered_misses) misses_.clear();
  misses_[flight_key] = clock_.NowUnixMs() + options_.miss_ttl_ms;
}

bool SharedLookup::RememberedMiss(const std::string& flight_key) {
  std::lock_guard lock(mu_);
  auto it = misses_.find(flight_key);
  if (it == misses_.end()) return false;
  if (clock_.NowUnixMs() < it->second) return true;
  misses_.erase(it);
  return false;
}

Result<std::optional<index::Entry>> SharedLookup::Find(const std::string& ns, const std::string& key) {
  const std::string flight_key = FlightKey(ns, key);
  if (RememberedMiss(flight_key)) return std::optional<index::Entry>();
  return flights_.Do(flight_key, [&]() -> Result<std::optional<index::Entry>> {
    // Checked again: a flight that ended between the check above and Do()
    // remembered its miss before it ended.
    if (RememberedMiss(flight_key)) return std::optional<index::Entry>();
    {
      std::lock_guard lock(mu_);
      ++requests_;
    }
    auto found = shared_.Find(ns, key);
    if (!found.ok() || !*found) RememberMissKey(flight_key);
    return found;
  });
}

void SharedLookup::ForgetMiss(const std::string& ns, const std::string& key) {
  std::lock_guard lock(mu_);
  misses_.erase(FlightKey(ns, key));
}

uint64_t SharedLookup::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

}  // namespace cellar::core
