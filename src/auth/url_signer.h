// UrlSigner: short-lived capability URLs. The negotiate API hands a client a
// URL that lets it PUT or GET one blob without a token; the URL carries its
// method, namespace, key, expiry and (for uploads) the declared size and
// SHA-256, all bound by an HMAC-SHA256 over a canonical string. Changing any
// part, or using it after it expires, makes it invalid.
//
// Every node of a fleet must share the key, so signed URLs from one node are
// accepted by another. Thread-safety: immutable; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cellar::auth {

struct SignedGrant {
  std::string method;                 // "GET" or "PUT"
  std::string ns;
  std::string key;
  int64_t expires_unix_s = 0;
  std::optional<uint64_t> size;       // uploads: exact body size
  std::optional<std::string> sha256;  // uploads: lowercase hex digest of the body
  std::optional<uint64_t> duration_ms;  // uploads: how long the build that made it took
};

class UrlSigner {
 public:
  // `key` must be at least 16 bytes.
  explicit UrlSigner(std::string key);

  // The query string (no leading '?') that carries `grant` and its signature.
  std::string SignQuery(const SignedGrant& grant) const;

  // Parses and checks a query string for `method` on `ns`/`key` at time
  // `now_unix_s`. kPermissionDenied with the reason (expired, bad signature,
  // wrong method, malformed) when it does not authorize the request.
  Result<SignedGrant> Verify(std::string_view query, std::string_view method, std::string_view ns,
                             std::string_view key, int64_t now_unix_s) const;

 private:
  std::string Signature(const SignedGrant& grant) const;
  std::string key_;
};

// Loads the signing key from `path`, or creates one (32 random bytes, hex,
// mode 0600) when the file does not exist. A file that exists but cannot be
// read is an error: a new key would void every URL already handed out.
Result<std::string> LoadOrCreateSigningKey(const std::string& path);

}  // namespace cellar::auth
