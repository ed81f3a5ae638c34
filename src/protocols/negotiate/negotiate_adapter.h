// cellar's negotiate API: a client asks, per artifact hash, whether to upload
// or where to download, and gets a short-lived signed URL to /v1/blobs/<key>
// so the bytes move without a token (and, with the S3 backend, later
// straight to storage through presigned URLs behind the same API).
//
//   POST /v1/negotiate        {"hash","action","size"?,"sha256"?,"namespace"?}
//   POST /v1/negotiate/batch  {"namespace"?, "requests":[...]}
//   PUT|GET|HEAD /v1/blobs/<key>?<signed query>
//
// Artifacts are immutable: the first upload of a key to commit wins
// atomically, later or concurrent ones are answered "skipped", and readers
// only ever see complete, verified artifacts. Negotiating needs a token with
// read (download) or write (upload) scope on the namespace; the signed URL
// is then the only credential.
#pragma once

#include <string>

#include "auth/url_signer.h"
#include "metrics/metrics.h"
#include "protocols/common/protocol.h"
#include "protocols/negotiate/negotiate_request.h"

namespace cellar::negotiate {

struct NegotiateOptions {
  std::string public_url;         // base of the signed URLs; empty: from the Host header
  int64_t url_ttl_s = 300;        // lifetime of a signed URL
  size_t max_batch_items = 1000;
};

class NegotiateAdapter : public protocols::ProtocolAdapter {
 public:
  NegotiateAdapter(protocols::ProtocolContext ctx, const auth::UrlSigner& signer, NegotiateOptions options,
                   metrics::Registry& registry);
  std::string_view Name() const override { return "negotiate"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> HandleNegotiate(http::Exchange& ex, bool batch);
  boost::asio::awaitable<void> HandleBlob(http::Exchange& ex);
  boost::asio::awaitable<void> HandleUpload(http::Exchange& ex, const auth::SignedGrant& grant);
  NegotiateAnswer Answer(const NegotiateItem& item, const std::string& ns, const std::string& base);

  protocols::ProtocolContext ctx_;
  const auth::UrlSigner& signer_;
  NegotiateOptions options_;
  metrics::Family<metrics::Counter>& negotiations_;
  metrics::Family<metrics::Counter>& transfers_;
};

}  // namespace cellar::negotiate
