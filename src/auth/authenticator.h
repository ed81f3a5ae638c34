// Authenticator: turns an Authorization header into a Principal with scopes.
//
// Tokens carry scopes (read, write, admin; admin implies the others) and may
// be limited to namespace prefixes ("bazel", "turbo/team-a"). A token is
// accepted as `Authorization: Bearer <token>` or as the password of Basic
// auth in either base64 alphabet (Bazel sends the URL-safe one).
//
// With no tokens configured every request is anonymous with all scopes (the
// embedded loopback default). With tokens configured, a request without
// credentials gets the configured anonymous scopes (none by default) and a
// request with wrong credentials is refused.
// Thread-safety: immutable after construction; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cellar::auth {

enum Scope : uint32_t {
  kScopeRead = 1,
  kScopeWrite = 2,
  kScopeAdmin = 4,
  kScopeAll = 7,
};

struct TokenSpec {
  std::string name;
  std::string secret;
  uint32_t scopes = 0;
  std::vector<std::string> namespaces;  // empty = every namespace
};

struct Principal {
  std::string name;  // "anonymous" when no credentials were given
  uint32_t scopes = 0;
  std::vector<std::string> namespaces;
  bool anonymous = true;

  // True when the principal holds `scope` for namespace `ns`.
  bool Can(Scope scope, std::string_view ns) const;
};

class Authenticator {
 public:
  Authenticator(std::vector<TokenSpec> tokens, uint32_t anonymous_scopes);

  // kUnauthenticated when credentials are present but wrong or malformed.
  Result<Principal> Authenticate(std::optional<std::string_view> authorization) const;
  bool has_tokens() const { return !tokens_.empty(); }

  // Parses "name:secret:scope[,scope...][:ns[,ns...]]", e.g. "ci:s3cr3t:read,write:bazel,ccache".
  static Result<TokenSpec> ParseTokenSpec(std::string_view spec);
  // Parses "read,write" style scope lists.
  static Result<uint32_t> ParseScopes(std::string_view list);

 private:
  struct StoredToken {
    TokenSpec spec;
    std::array<uint8_t, 32> secret_sha256;
  };
  std::optional<Principal> Match(std::string_view secret) const;

  std::vector<StoredToken> tokens_;
  uint32_t anonymous_scopes_;
};

}  // namespace cellar::auth
