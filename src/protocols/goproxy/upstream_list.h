// UpstreamList: an ordered list of upstream Go proxies with GOPROXY's
// fall-through rules: after an entry followed by "," the next one is tried
// only when the answer was 404 or 410; after "|" on any failure.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "env/http_client.h"
#include "protocols/goproxy/module_pattern.h"

namespace cellar::goproxy {

struct UpstreamEntry {
  std::string base_url;        // without a trailing slash
  bool fall_through_on_error;  // "|" after this entry
};

// A per-module rule: modules matching `patterns` use `upstreams` instead
// of the default list; no upstreams ("off") means the module is private
// here and is answered 404, so the go command falls back to `direct`.
struct ModuleRoute {
  ModulePatterns patterns;
  std::vector<UpstreamEntry> upstreams;  // empty: off
};

// Parses "corp.example/*,git.internal=https://user:token@goproxy.corp;private.test/*=off".
// Rules are separated by ';', patterns from upstreams by the first '='.
Result<std::vector<ModuleRoute>> ParseModuleRoutes(std::string_view rules);

// The rule for `module_path` (unescaped): the first matching one, else nullptr.
const ModuleRoute* FindRoute(const std::vector<ModuleRoute>& routes, std::string_view module_path);

// The modules never looked up in the checksum database: `nosumdb`
// (--go-nosumdb) and every module with a --go-route. A routed module is
// private (its own upstream, or "off"): the public database has no record of
// it, and asking would leak its name, as GONOSUMDB would prevent.
ModulePatterns SumdbExemptModules(const ModulePatterns& nosumdb, const std::vector<ModuleRoute>& routes);

using env::RedactUrl;

// Parses "https://a,https://b|https://c". kInvalidArgument on an empty or
// non-http(s) entry.
Result<std::vector<UpstreamEntry>> ParseUpstreamList(std::string_view list);

// GETs `path` (below each proxy root) from the first upstream that has it.
// kNotFound when every consulted upstream answered 404/410 (or 400, which
// proxy.golang.org answers for versions that cannot exist); kUnavailable
// (with the upstream named, never its credentials) otherwise.
Result<std::unique_ptr<env::HttpResponse>> FetchFromUpstreams(
    env::HttpClient& client, const std::vector<UpstreamEntry>& upstreams, const std::string& path);

}  // namespace cellar::goproxy
