// VelocityCache's data plane, so its CLI and scripts work against cellar
// unchanged (docs/protocols/negotiate.md section 11):
//
//   PUT  /v1/proxy/blob/<key>   store the body; 200, empty, stored or not
//   GET  /v1/proxy/blob/<key>   200 application/octet-stream, or 404
//   HEAD /v1/proxy/blob/<key>   as GET, without the body
//
// VelocityCache's server answers its local driver's uploads with 200 and its
// CLI treats any other status as a failed upload, which is why this route
// exists beside /v1/blobs/ (201 stored, 200 skipped). A request is allowed by
// either a signed query (what `--negotiate-urls velocity` hands out) or, as
// VelocityCache's server does it, a bearer token with read (GET) or write
// (PUT) scope; the CLI sends its token because the URL names the server's
// own host. Artifacts stay immutable: a second PUT of a key is answered 200
// and stores nothing, as /v1/blobs/ does.
// Thread-safety: as every adapter (handlers run on I/O threads).
#pragma once

#include <string>

#include "auth/url_signer.h"
#include "metrics/metrics.h"
#include "protocols/common/protocol.h"

namespace cellar::negotiate {

class VelocityProxyAdapter : public protocols::ProtocolAdapter {
 public:
  VelocityProxyAdapter(protocols::ProtocolContext ctx, const auth::UrlSigner& signer, metrics::Registry& registry);
  std::string_view Name() const override { return "velocity"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> HandleUpload(http::Exchange& ex, const auth::SignedGrant& grant);

  protocols::ProtocolContext ctx_;
  const auth::UrlSigner& signer_;
  metrics::Family<metrics::Counter>& transfers_;
};

}  // namespace cellar::negotiate
