#include "auth/authenticator.h"

#include "base/base64.h"
#include "base/strings.h"
#include "hash/sha256.h"

namespace cellar::auth {

namespace {

std::array<uint8_t, 32> HashSecret(std::string_view secret) {
  return hash::Sha256(std::as_bytes(std::span(secret.data(), secret.size())));
}

bool NamespaceAllowed(const std::vector<std::string>& prefixes, std::string_view ns) {
  if (prefixes.empty()) return true;
  for (const auto& p : prefixes) {
    if (ns == p) return true;
    if (ns.size() > p.size() && ns.substr(0, p.size()) == p && ns[p.size()] == '/') return true;
  }
  return false;
}

}  // namespace

bool Principal::Can(Scope scope, std::string_view ns) const {
  uint32_t effective = scopes;
  if (effective & kScopeAdmin) effective |= kScopeRead | kScopeWrite;
  if (!(effective & scope)) return false;
  return NamespaceAllowed(namespaces, ns);
}

Authenticator::Authenticator(std::vector<TokenSpec> tokens, uint32_t anonymous_scopes)
    : anonymous_scopes_(tokens.empty() ? kScopeAll : anonymous_scopes) {
  for (auto& t : tokens) {
    auto digest = HashSecret(t.secret);
    tokens_.push_back(StoredToken{std::move(t), digest});
  }
}

std::optional<Principal> Authenticator::Match(std::string_view secret) const {
  // Compare fixed-length digests against every token so timing reveals
  // neither the secret's length nor which token matched.
  auto candidate = HashSecret(secret);
  std::string_view cand(reinterpret_cast<const char*>(candidate.data()), candidate.size());
  const StoredToken* found = nullptr;
  for (const auto& t : tokens_) {
    std::string_view stored(reinterpret_cast<const char*>(t.secret_sha256.data()),
                            t.secret_sha256.size());
    if (ConstantTimeEquals(cand, stored) && found == nullptr) found = &t;
  }
  if (!found) return std::nullopt;
  return Principal{found->spec.name, found->spec.scopes, found->spec.namespaces, false};
}

Result<Principal> Authenticator::Authenticate(std::optional<std::string_view> authorization) const {
  Principal anonymous{"anonymous", anonymous_scopes_, {}, true};
  if (tokens_.empty()) return anonymous;  // open server: credentials are ignored
  if (!authorization || TrimWhitespace(*authorization).empty()) return anonymous;

  std::string_view value = TrimWhitespace(*authorization);
  size_t space = value.find(' ');
  if (space == std::string_view::npos) {
    return Status::Unauthenticated("malformed Authorization header");
  }
  std::string_view scheme = value.substr(0, space);
  std::string_view credentials = TrimWhitespace(value.substr(space + 1));

  std::optional<Principal> principal;
  if (EqualsIgnoreCase(scheme, "Bearer") || EqualsIgnoreCase(scheme, "token")) {
    principal = Match(credentials);
  } else if (EqualsIgnoreCase(scheme, "Basic")) {
    auto decoded = Base64DecodeAny(credentials);
    if (!decoded) return Status::Unauthenticated("malformed Basic credentials");
    size_t colon = decoded->find(':');
    // The token is the password; a bare token (no colon) is accepted too.
    std::string_view secret = colon == std::string::npos
                                  ? std::string_view(*decoded)
                                  : std::string_view(*decoded).substr(colon + 1);
    principal = Match(secret);
  } else {
    return Status::Unauthenticated("unsupported authorization scheme");
  }
  if (!principal) return Status::Unauthenticated("invalid token");
  return *principal;
}

Result<uint32_t> Authenticator::ParseScopes(std::string_view list) {
  uint32_t scopes = 0;
  for (auto part : SplitView(list, ',')) {
    part = TrimWhitespace(part);
    if (part == "read") scopes |= kScopeRead;
    else if (part == "write") scopes |= kScopeWrite;
    else if (part == "admin") scopes |= kScopeAdmin;
    else if (part.empty()) continue;
    else return Status::InvalidArgument("unknown scope '" + std::string(part) + "'");
  }
  return scopes;
}

Result<TokenSpec> Authenticator::ParseTokenSpec(std::string_view spec) {
  auto parts = SplitView(spec, ':');
  if (parts.size() < 3 || parts.size() > 4) {
    return Status::InvalidArgument("token must look like name:secret:scopes[:namespaces]");
  }
  TokenSpec t;
  t.name = std::string(parts[0]);
  t.secret = std::string(parts[1]);
  if (t.name.empty() || t.secret.size() < 8) {
    return Status::InvalidArgument("token '" + t.name + "' needs a name and a secret of 8+ characters");
  }
  CELLAR_ASSIGN_OR_RETURN(t.scopes, ParseScopes(parts[2]));
  if (t.scopes == 0) return Status::InvalidArgument("token '" + t.name + "' has no scopes");
  if (parts.size() == 4) {
    for (auto ns : SplitView(parts[3], ',')) {
      if (!ns.empty()) t.namespaces.emplace_back(ns);
    }
  }
  return t;
}

}  // namespace cellar::auth
