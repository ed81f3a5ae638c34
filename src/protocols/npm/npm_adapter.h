// npm registry pull-through cache under /npm/, for npm, pnpm and yarn.
//  - Packuments (full, or abbreviated when Accept asks for
//    application/vnd.npm.install-v1+json; Vary: Accept) and single-version
//    documents come from DocumentCache: max age, upstream revalidation with
//    If-None-Match, stale-if-error (X-Cellar-Stale: 1), tarball URLs
//    rewritten to cellar's public URL, strong ETags and 304 to clients.
//  - Tarballs are immutable, filled single-flight, verified against
//    dist.integrity (sha512) or dist.shasum before they are stored.
//  - /-/ping is answered locally; search, audit, keys and attestations pass
//    through uncached (audit can be switched off).
// Every error body is npm-style JSON ({"error": "..."}), so clients print it.
// Freshness, stale and negative-cache rules: docs/pull-through.md.
// Wire details: docs/protocols/npm.md sections 3-8.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/filler.h"
#include "env/http_client.h"
#include "protocols/common/protocol.h"
#include "protocols/common/pull_through.h"
#include "protocols/npm/document_cache.h"
#include "protocols/npm/npm_metrics.h"
#include "protocols/npm/npm_path.h"
#include "protocols/npm/npm_upstream.h"

namespace cellar::npm {

struct NpmOptions {
  NpmUpstream upstream;
  std::vector<NpmUpstream> scope_routes;
  std::string public_url;  // "https://cellar.example" (no /npm); empty: from the Host header
  int64_t negative_ttl_ms = 60'000;
  uint64_t stream_threshold_bytes = 4ULL << 20;
  bool audit = true;  // pass audit requests upstream; false: answer 404 at once
  DocumentOptions documents;
};

class NpmAdapter : public protocols::ProtocolAdapter {
 public:
  // Every reference must outlive the adapter.
  NpmAdapter(protocols::ProtocolContext ctx, env::HttpClient& client, core::Filler& filler, NpmMetrics& metrics,
             NpmOptions options);
  std::string_view Name() const override { return "npm"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> ServeDocument(http::Exchange& ex, const NpmRequest& req, const std::string& base);
  boost::asio::awaitable<void> ServeTarball(http::Exchange& ex, const NpmRequest& req);
  boost::asio::awaitable<void> ServeSpecial(http::Exchange& ex, const NpmRequest& req);
  boost::asio::awaitable<void> PassThrough(http::Exchange& ex, const std::string& path, const char* kind);
  // Blocking: what a tarball miss needs to know (fetches the packument if
  // the tarball is not in the stored index).
  Result<DistInfo> FindDist(const NpmRequest& req, const NpmUpstream& up, const std::string& base);
  // "<public url>/npm/" for this request, or nullopt when the Host header is unusable.
  std::optional<std::string> PublicBase(const http::Exchange& ex) const;
  // The base URL documents are rendered with: --public-url's, else a
  // placeholder replaced by the request's base while sending.
  std::string RenderBase() const;
  static std::string DocumentEtag(const core::Hit& hit, const std::string& base, const std::string& render_base);
  // Sends a rendering with every tarball URL below `render_base` moved to
  // `base` (`base_urls` of them), streaming.
  boost::asio::awaitable<Status> SendWithBase(http::Exchange& ex, core::Hit& hit, uint64_t base_urls,
                                              const std::string& render_base, const std::string& base);

  protocols::ProtocolContext ctx_;
  env::HttpClient& client_;
  core::Filler& filler_;
  NpmMetrics& metrics_;
  NpmOptions options_;
  DocumentCache documents_;
  protocols::NegativeCache missing_;  // packages the upstream does not have
};

}  // namespace cellar::npm
