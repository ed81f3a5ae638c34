// Leases: "one node of the fleet does this at a time" (fill a package from
// the upstream, fetch a git repository). A lease is held for a time-to-live
// and renewed while the work runs, so a holder that dies frees it by
// expiring; releasing and renewing check a random token, so a holder whose
// lease expired can never release or extend another node's.
//
// A lease is an optimisation: callers that cannot get an answer (kUnavailable
// when Redis is down) do the work themselves, exactly as a single node does.
//
// Implementations: RedisLeases (SET NX PX; renew and release by
// compare-and-act scripts) and FakeLeases (memory, a Clock) for tests of the
// layers above. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "env/clock.h"
#include "redis/redis_client.h"

namespace cellar::redis {

struct Lease {
  std::string key;
  std::string token;  // random, unique to this holding
};

class Leases {
 public:
  virtual ~Leases() = default;
  // The lease on `key` for `ttl`, or nullopt while someone else holds it.
  virtual Result<std::optional<Lease>> TryAcquire(std::string_view key, std::chrono::milliseconds ttl) = 0;
  // Extends a lease still held; false when it expired (and may be another's).
  virtual Result<bool> Renew(const Lease& lease, std::chrono::milliseconds ttl) = 0;
  // Ends a lease still held; false when it had already expired.
  virtual Result<bool> Release(const Lease& lease) = 0;
};

// 32 hex characters from the kernel's random source.
std::string NewLeaseToken();

class RedisLeases final : public Leases {
 public:
  // Keys are `<prefix>lease:<key>`; the prefix separates fleets or tests
  // sharing one Redis.
  RedisLeases(RedisClient& client, std::string prefix);

  Result<std::optional<Lease>> TryAcquire(std::string_view key, std::chrono::milliseconds ttl) override;
  Result<bool> Renew(const Lease& lease, std::chrono::milliseconds ttl) override;
  Result<bool> Release(const Lease& lease) override;

 private:
  std::string RedisKey(std::string_view key) const;

  RedisClient& client_;
  const std::string prefix_;
};

class FakeLeases final : public Leases {
 public:
  explicit FakeLeases(const env::Clock& clock) : clock_(clock) {}

  Result<std::optional<Lease>> TryAcquire(std::string_view key, std::chrono::milliseconds ttl) override;
  Result<bool> Renew(const Lease& lease, std::chrono::milliseconds ttl) override;
  Result<bool> Release(const Lease& lease) override;

  // Makes every call fail with kUnavailable, as RedisLeases does with Redis down.
  void SetUnavailable(bool unavailable);

 private:
  struct Held {
    std::string token;
    int64_t expires_ms;
  };
  // The live holding of `key`, dropping an expired one. Needs mu_.
  Held* Live(const std::string& key);

  const env::Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Held, std::less<>> held_;
  bool unavailable_ = false;
};

}  // namespace cellar::redis
