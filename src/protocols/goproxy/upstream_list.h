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

namespace cellar::goproxy {

struct UpstreamEntry {
  std::string base_url;        // without a trailing slash
  bool fall_through_on_error;  // "|" after this entry
};

// Parses "https://a,https://b|https://c". kInvalidArgument on an empty or
// non-http(s) entry.
Result<std::vector<UpstreamEntry>> ParseUpstreamList(std::string_view list);

// GETs `path` (below each proxy root) from the first upstream that has it.
// kNotFound when every consulted upstream answered 404/410; kUnavailable
// (with the upstream named, never its credentials) otherwise.
Result<std::unique_ptr<env::HttpResponse>> FetchFromUpstreams(
    env::HttpClient& client, const std::vector<UpstreamEntry>& upstreams, const std::string& path);

}  // namespace cellar::goproxy
