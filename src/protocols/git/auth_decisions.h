// AuthDecisions: which credentials the upstream recently accepted for which
// repository, so a warm repository is served without asking the upstream on
// every request, and (with stale serving on) only to clients the upstream
// accepted before it went down. Keys are SHA-256 over a per-process secret,
// the repository and the credential: the credential itself is never kept.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace cellar::git {

class AuthDecisions {
 public:
  AuthDecisions();
  // Records that the upstream let `authorization` (may be empty) read `repo`.
  void Accept(const std::string& repo, const std::string& authorization, int64_t now_ms);
  // Forgets it (the upstream said 401/403/404 since).
  void Reject(const std::string& repo, const std::string& authorization);
  // True when accepted within the last `max_age_ms`.
  bool AcceptedWithin(const std::string& repo, const std::string& authorization, int64_t now_ms,
                      int64_t max_age_ms) const;

 private:
  std::string Key(const std::string& repo, const std::string& authorization) const;
  std::string secret_;
  mutable std::mutex mu_;
  std::map<std::string, int64_t> accepted_at_;
};

}  // namespace cellar::git
