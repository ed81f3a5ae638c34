// Go module proxy (GOPROXY protocol) under /go/: pull-through cache of an
// ordered list of upstream proxies. Canonical .info, .mod and .zip are
// immutable once stored and filled single-flight (concurrent cold requests
// share one upstream fetch, streamed to all of them). list, @latest and
// query .info have a max age, are refreshed from upstream when stale, and
// are served stale (X-Cellar-Stale: 1) when the upstream fails. Upstream
// 404/410 answers are remembered for a short negative TTL, and answered 404
// so GOPROXY "," fall-through works. Wire details: shared docs,
// protocols-packages.md sections 1-3.
//
// Not yet: checksum-database proxy (/go/sumdb/ answers 404, so the go
// command talks to the database directly), zip/h1 verification against the
// checksum database, per-module upstream rules.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/filler.h"
#include "env/http_client.h"
#include "protocols/common/protocol.h"
#include "protocols/goproxy/go_path.h"
#include "protocols/goproxy/upstream_list.h"

namespace cellar::goproxy {

struct GoproxyOptions {
  std::vector<UpstreamEntry> upstreams;
  int64_t list_max_age_ms = 60'000;    // list, @latest, query .info
  int64_t negative_ttl_ms = 60'000;    // remembered upstream 404/410
  uint64_t max_file_bytes = 500ULL << 20;  // the go command's own zip limit
};

class GoproxyAdapter : public protocols::ProtocolAdapter {
 public:
  // `client` and `filler` must outlive the adapter.
  GoproxyAdapter(protocols::ProtocolContext ctx, env::HttpClient& client, core::Filler& filler,
                 GoproxyOptions options);
  std::string_view Name() const override { return "goproxy"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> ServeImmutable(http::Exchange& ex, const GoRequest& req);
  boost::asio::awaitable<void> ServeMutable(http::Exchange& ex, const GoRequest& req);
  // True (and answers 404) when the path is in the negative cache.
  boost::asio::awaitable<bool> AnswerKnownMissing(http::Exchange& ex, const GoRequest& req);
  void RememberMissing(const GoRequest& req);

  protocols::ProtocolContext ctx_;
  env::HttpClient& client_;
  core::Filler& filler_;
  GoproxyOptions options_;
};

}  // namespace cellar::goproxy
