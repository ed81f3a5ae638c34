#include "redis/leases.h"

#include <sys/random.h>

#include <cerrno>

namespace cellar::redis {
namespace {

// Both run atomically in Redis: the check and the act cannot be split by
// another node's SET in between.
constexpr const char* kRenewScript =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
constexpr const char* kReleaseScript =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

Result<bool> IntegerIsOne(const Result<Reply>& reply, std::string_view what) {
  if (!reply.ok()) return reply.error();
  const int64_t* n = reply->AsInteger();
  if (n == nullptr) return Status::Internal("unexpected Redis reply to " + std::string(what));
  return *n == 1;
}

Status CheckTtl(std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return Status::InvalidArgument("a lease needs a positive time to live");
  return Status();
}

}  // namespace

std::string NewLeaseToken() {
  unsigned char raw[16];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = ::getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // not reached on Linux >= 3.17 once booted
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : raw) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 15]);
  }
  return token;
}

RedisLeases::RedisLeases(RedisClient& client, std::string prefix) : client_(client), prefix_(std::move(prefix)) {}

std::string RedisLeases::RedisKey(std::string_view key) const { return prefix_ + "lease:" + std::string(key); }

Result<std::optional<Lease>> RedisLeases::TryAcquire(std::string_view key, std::chrono::milliseconds ttl) {
  CELLAR_RETURN_IF_ERROR(CheckTtl(ttl));
  Lease lease{std::string(key), NewLeaseToken()};
  CELLAR_ASSIGN_OR_RETURN(Reply reply,
                          client_.Command({"SET", RedisKey(key), lease.token, "NX", "PX", std::to_string(ttl.count())}));
  if (reply.IsNil()) return std::optional<Lease>();
  const std::string* ok = reply.AsString();
  if (ok == nullptr || *ok != "OK") return Status::Internal("unexpected Redis reply to SET NX");
  return std::optional<Lease>(std::move(lease));
}

Result<bool> RedisLeases::Renew(const Lease& lease, std::chrono::milliseconds ttl) {
  CELLAR_RETURN_IF_ERROR(CheckTtl(ttl));
  return IntegerIsOne(
      client_.Command({"EVAL", kRenewScript, "1", RedisKey(lease.key), lease.token, std::to_string(ttl.count())}),
      "a lease renewal");
}

Result<bool> RedisLeases::Release(const Lease& lease) {
  return IntegerIsOne(client_.Command({"EVAL", kReleaseScript, "1", RedisKey(lease.key), lease.token}),
                      "a lease release");
}

FakeLeases::Held* FakeLeases::Live(const std::string& key) {
  auto it = held_.find(key);
  if (it == held_.end()) return nullptr;
  if (it->second.expires_ms <= clock_.NowUnixMs()) {
    held_.erase(it);
    return nullptr;
  }
  return &it->second;
}

void FakeLeases::SetUnavailable(bool unavailable) {
  std::lock_guard lock(mu_);
  unavailable_ = unavailable;
}

Result<std::optional<Lease>> FakeLeases::TryAcquire(std::string_view key, std::chrono::milliseconds ttl) {
  CELLAR_RETURN_IF_ERROR(CheckTtl(ttl));
  std::lock_guard lock(mu_);
  if (unavailable_) return Status::Unavailable("fake Redis is down");
  if (Live(std::string(key)) != nullptr) return std::optional<Lease>();
  Lease lease{std::string(key), NewLeaseToken()};
  held_[lease.key] = Held{lease.token, clock_.NowUnixMs() + ttl.count()};
  return std::optional<Lease>(std::move(lease));
}

Result<bool> FakeLeases::Renew(const Lease& lease, std::chrono::milliseconds ttl) {
  CELLAR_RETURN_IF_ERROR(CheckTtl(ttl));
  std::lock_guard lock(mu_);
  if (unavailable_) return Status::Unavailable("fake Redis is down");
  Held* held = Live(lease.key);
  if (held == nullptr || held->token != lease.token) return false;
  held->expires_ms = clock_.NowUnixMs() + ttl.count();
  return true;
}

Result<bool> FakeLeases::Release(const Lease& lease) {
  std::lock_guard lock(mu_);
  if (unavailable_) return Status::Unavailable("fake Redis is down");
  Held* held = Live(lease.key);
  if (held == nullptr || held->token != lease.token) return false;
  held_.erase(lease.key);
  return true;
}

}  // namespace cellar::redis
