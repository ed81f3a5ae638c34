#include "protocols/git/auth_decisions.h"

#include <random>

#include "hash/sha256.h"

namespace cellar::git {

AuthDecisions::AuthDecisions() {
  std::random_device rd;
  for (int i = 0; i < 32; ++i) secret_.push_back(static_cast<char>(rd()));
}

std::string AuthDecisions::Key(const std::string& repo, const std::string& authorization) const {
  hash::Sha256Hasher h;
  h.Update(secret_.data(), secret_.size());
  h.Update(repo.data(), repo.size());
  h.Update("\n", 1);
  h.Update(authorization.data(), authorization.size());
  auto digest = h.Finalize();
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

void AuthDecisions::Accept(const std::string& repo, const std::string& authorization, int64_t now_ms) {
  std::string key = Key(repo, authorization);
  std::lock_guard lock(mu_);
  accepted_at_[key] = now_ms;
}

void AuthDecisions::Reject(const std::string& repo, const std::string& authorization) {
  std::string key = Key(repo, authorization);
  std::lock_guard lock(mu_);
  accepted_at_.erase(key);
}

bool AuthDecisions::AcceptedWithin(const std::string& repo, const std::string& authorization, int64_t now_ms,
                                   int64_t max_age_ms) const {
  std::string key = Key(repo, authorization);
  std::lock_guard lock(mu_);
  auto it = accepted_at_.find(key);
  return it != accepted_at_.end() && now_ms - it->second <= max_age_ms;
}

}  // namespace cellar::git
