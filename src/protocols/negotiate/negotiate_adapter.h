// cellar's negotiate API: a client asks, per artifact hash, whether to upload
// or where to download, and gets a short-lived signed URL to /v1/blobs/<key>
// so the bytes move without a token (with the S3 backend, presigned URLs of
// the bucket instead, see below).
//
//   POST /v1/negotiate        {"hash","action","size"?,"sha256"?,"namespace"?}
//   POST /v1/negotiate/batch  {"namespace"?, "requests":[...]}
//   PUT|GET|HEAD /v1/blobs/<key>?<signed query>
//   POST /v1/negotiate/commit/<key>/<upload id>?<signed query>
//
// With a DirectStorage (the S3 backend), downloads of blobs the bucket holds
// are presigned GETs of the bucket, and clients that ask for it
// ("presigned": true) upload with a presigned PUT to a staging object and
// then POST the answer's commit_url; the commit reads the staged object
// back, checks it and stores it as any upload (docs/protocols/negotiate.md
// section 10).
//
// Artifacts are immutable: the first upload of a key to commit wins
// atomically, later or concurrent ones are answered "skipped", and readers
// only ever see complete, verified artifacts. Negotiating needs a token with
// read (download) or write (upload) scope on the namespace; the signed URL
// is then the only credential.
#pragma once

#include <atomic>
#include <string>

#include "auth/url_signer.h"
#include "metrics/metrics.h"
#include "protocols/common/protocol.h"
#include "protocols/negotiate/direct_storage.h"
#include "protocols/negotiate/negotiate_request.h"

namespace cellar::negotiate {

struct NegotiateOptions {
  std::string public_url;         // base of the signed URLs; empty: from the Host header
  int64_t url_ttl_s = 300;        // lifetime of a signed URL
  // Where signed cellar URLs point: "/v1/blobs/" (201 stored, 200 skipped),
  // or VelocityCache's "/v1/proxy/blob/" (200 for both, which its CLI needs;
  // protocols/negotiate/velocity_proxy_adapter.h).
  std::string blob_url_path = "/v1/blobs/";
  size_t max_batch_items = 1000;
  // The object store to hand out presigned URLs of (`--storage s3`); null:
  // every URL points at this server (/v1/blobs/). Must outlive the adapter.
  DirectStorage* direct = nullptr;
  // Staged uploads never committed are removed when older than
  // staging_max_age_s, by a commit at most every staging_sweep_interval_ms.
  int64_t staging_max_age_s = 24 * 3600;
  int64_t staging_sweep_interval_ms = 3600 * 1000;
};

class NegotiateAdapter : public protocols::ProtocolAdapter {
 public:
  NegotiateAdapter(protocols::ProtocolContext ctx, const auth::UrlSigner& signer, NegotiateOptions options,
                   metrics::Registry& registry);
  std::string_view Name() const override { return "negotiate"; }
  void RegisterRoutes(http::Router& router) override;

  // What a batch of `request` is answered with (blocks; tests).
  std::vector<NegotiateAnswer> AnswerAllForTest(const NegotiateRequest& request, const std::string& base) {
    return AnswerAll(request, base);
  }

 private:
  boost::asio::awaitable<void> HandleNegotiate(http::Exchange& ex, bool batch);
  boost::asio::awaitable<void> HandleBlob(http::Exchange& ex);
  boost::asio::awaitable<void> HandleUpload(http::Exchange& ex, const auth::SignedGrant& grant);
  boost::asio::awaitable<void> HandleCommit(http::Exchange& ex);
  // Block (index, object store): run on a worker thread.
  // Every item's answer, in order; blocks (index, bucket).
  std::vector<NegotiateAnswer> AnswerAll(const NegotiateRequest& request, const std::string& base);
  NegotiateAnswer Answer(const NegotiateItem& item, const NegotiateRequest& request, const std::string& base);
  // Fills `answer` with a presigned staging PUT and its commit URL; false
  // when this item cannot be uploaded that way (no declared size).
  bool PresignUpload(const NegotiateItem& item, const std::string& ns, const std::string& base, int64_t now_s,
                     NegotiateAnswer& answer);
  struct CommitOutcome {
    unsigned status;
    std::string_view result;  // metric label: stored, skipped, refused, error
    std::string body;         // JSON
  };
  CommitOutcome CommitStaged(const auth::SignedGrant& grant, const std::string& key, const std::string& staging);
  // Removes stale staged uploads when the last sweep is an interval ago.
  void SweepStagingIfDue();

  protocols::ProtocolContext ctx_;
  const auth::UrlSigner& signer_;
  NegotiateOptions options_;
  metrics::Family<metrics::Counter>& negotiations_;
  metrics::Family<metrics::Counter>& transfers_;
  // When the last staging sweep started (0: never, so the first commit sweeps).
  std::atomic<int64_t> last_staging_sweep_ms_{0};
};

}  // namespace cellar::negotiate
