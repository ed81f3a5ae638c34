// npm upstream registries: the default one and per-scope routes, each with
// optional credentials that are sent only to that registry's host.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "env/http_client.h"

namespace cellar::npm {

struct NpmUpstream {
  std::string base_url;       // with a trailing slash: "https://registry.npmjs.org/"
  std::string authorization;  // "Bearer ..." or "Basic ...", or empty
  std::vector<std::string> scopes;  // "@corp"; empty for the default upstream

  // Adds the credentials to `req` when its URL is on this registry.
  void Authorize(env::HttpRequest& req) const;
  // True when `url` lies under base_url (only such URLs are fetched: an
  // SSRF guard, and credentials never go elsewhere).
  bool Owns(std::string_view url) const;
};

// "https://registry.npmjs.org" (userinfo becomes Basic credentials).
Result<NpmUpstream> ParseUpstream(std::string_view url, std::string_view token = {});

// "@corp,@corp2=https://npm.corp.example/ token:SECRET;@other=https://u:p@npm.other/".
Result<std::vector<NpmUpstream>> ParseScopeRoutes(std::string_view rules);

// The route for `name` ("@corp/x"), else `fallback`.
const NpmUpstream& UpstreamFor(const std::vector<NpmUpstream>& routes, const NpmUpstream& fallback,
                               std::string_view name);

// Sends `req` (credentials added) and records latency; kNotFound on 404/410,
// kUnavailable otherwise unless the status is in `accept` (200 always is).
Result<std::unique_ptr<env::HttpResponse>> SendUpstream(env::HttpClient& client, const NpmUpstream& up,
                                                        env::HttpRequest req, std::vector<int> accept = {});

}  // namespace cellar::npm
