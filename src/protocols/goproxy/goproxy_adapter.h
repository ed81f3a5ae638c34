// Go module proxy (GOPROXY protocol) under /go/: pull-through cache of an
// ordered list of upstream proxies, with per-module routes (another
// upstream with its own credentials, or "off": answered 404 so the go
// command goes direct).
//
//  - .info, .mod and .zip of canonical versions are immutable once stored
//    and filled single-flight. Before a .zip or .mod is stored it is checked:
//    a zip must follow the go command's rules (module_hash.h), and unless the
//    module matches --go-nosumdb its h1: hash must equal the checksum
//    database's record (through our own sumdb proxy). The h1: value is kept
//    in the entry and sent as X-Go-Checksum.
//  - list, @latest and query .info have a max age, are refreshed
//    single-flight and served stale (X-Cellar-Stale: 1) when the upstream
//    fails. Upstream "not found" answers (404/410, and 400 for impossible
//    versions) are remembered for a short negative TTL.
// Freshness, stale and negative-cache rules: docs/pull-through.md.
// Wire details: docs/protocols/goproxy.md sections 1-6 and 9.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/filler.h"
#include "env/http_client.h"
#include "protocols/common/protocol.h"
#include "protocols/common/pull_through.h"
#include "protocols/goproxy/fresh_document.h"
#include "protocols/goproxy/go_metrics.h"
#include "protocols/goproxy/go_path.h"
#include "protocols/goproxy/module_hash.h"
#include "protocols/goproxy/module_pattern.h"
#include "protocols/goproxy/sumdb_proxy.h"
#include "protocols/goproxy/upstream_list.h"

namespace cellar::goproxy {

struct GoproxyOptions {
  std::vector<UpstreamEntry> upstreams;
  std::vector<ModuleRoute> routes;
  int64_t list_max_age_ms = 60'000;  // list, @latest, query .info
  int64_t negative_ttl_ms = 60'000;  // remembered upstream 404/410
  ZipLimits zip_limits;              // the go command's own limits
  // Files up to this size are verified before the first byte is sent.
  uint64_t stream_threshold_bytes = 16ULL << 20;
  bool verify_with_sumdb = true;
  ModulePatterns nosumdb;  // never verified, never looked up
};

class GoproxyAdapter : public protocols::ProtocolAdapter {
 public:
  // Every reference must outlive the adapter; `sumdb` verifies downloads.
  GoproxyAdapter(protocols::ProtocolContext ctx, env::HttpClient& client, core::Filler& filler,
                 FreshDocuments& documents, SumdbProxy& sumdb, GoMetrics& metrics, GoproxyOptions options);
  std::string_view Name() const override { return "goproxy"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> ServeImmutable(http::Exchange& ex, const GoRequest& req,
                                              const std::vector<UpstreamEntry>& upstreams);
  boost::asio::awaitable<void> ServeMutable(http::Exchange& ex, const GoRequest& req,
                                            const std::vector<UpstreamEntry>& upstreams);
  // True (and answers 404) when the path is in the negative cache.
  boost::asio::awaitable<bool> AnswerKnownMissing(http::Exchange& ex, const GoRequest& req);
  // Runs on the fill thread once a .zip or .mod has fully arrived.
  Status CheckDownloaded(const GoRequest& req, int fd, uint64_t size, core::PendingPut* put);
  void Count(const GoRequest& req, const char* result);

  protocols::ProtocolContext ctx_;
  env::HttpClient& client_;
  core::Filler& filler_;
  FreshDocuments& documents_;
  SumdbProxy& sumdb_;
  GoMetrics& metrics_;
  GoproxyOptions options_;
  protocols::NegativeCache missing_;  // upstream paths no upstream has
};

}  // namespace cellar::goproxy
