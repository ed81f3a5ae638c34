// S3Storage: the remote half of `cellar serve --storage s3`: the S3 client
// (libcurl, with retries), the S3BlobStore under --s3-prefix, and the
// TieredBlobStore that puts the data dir's FsBlobStore in front of it (see
// docs/tiered-storage.md), and the entry manifests beside the blobs that let
// a node with an empty data dir recover entries (S3SharedEntries). With
// --s3-upload=async, also the outbox those uploads go through and its
// drainer. Built by App::Create, which hands store() and entries() to
// CacheService.
// Thread-safety: store() as BlobStore; Open() from one thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "env/clock.h"
#include "protocols/negotiate/direct_storage.h"
#include "index/hot_entries.h"
#include "index/s3/s3_shared_entries.h"
#include "index/shared_entries.h"
#include "metrics/metrics.h"
#include "server/config.h"
#include "store/blob_store.h"
#include "store/documents.h"

namespace cellar::server {

class S3Storage {
 public:
  // Builds the S3 settings from `config` (its --s3-* values, already
  // completed from AWS_ENDPOINT_URL/AWS_REGION) and the credentials from
  // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, then
  // probes the bucket (one HEAD): missing credentials are kInvalidArgument,
  // wrong ones kPermissionDenied, a missing bucket kNotFound, an endpoint
  // that does not answer kUnavailable; every message names the bucket and
  // endpoint and never a secret. `local`, `clock` and `registry` must
  // outlive this object; spool files go to `spool_dir`. Reports S3 requests,
  // bytes and latency (MeteredS3Client) and where reads came from
  // (cellar_tiered_reads_total) in `registry`.
  // With `hot_entries` (Redis in fleet mode; may be null, else must outlive
  // this), entries() keeps copies of manifests there (HotCachedEntries) and
  // reports where lookups were answered (cellar_hot_entries_total).
  static Result<std::unique_ptr<S3Storage>> Open(const Config& config, store::BlobStore& local,
                                                 const env::Clock& clock, const std::string& spool_dir,
                                                 metrics::Registry& registry, index::HotEntries* hot_entries = nullptr);
  ~S3Storage();

  store::BlobStore& store();
  // The bucket alone, without the local tier: for data that is only ever
  // shared (the git tier's bundles), and its small mutable documents.
  store::BlobStore& bucket_blobs();
  store::Documents& documents();
  // Index entries shared through the same bucket (`<prefix>entries/`), for
  // CacheOptions::shared_entries. With --s3-upload=async, publishes go
  // through the outbox.
  index::SharedEntries& entries();
  // The bucket's manifests themselves (never through the outbox), and the
  // client every request to the bucket goes through: for the bucket's
  // evictor (index/s3/bucket_evictor.h).
  index::S3SharedEntries& manifests();
  s3::S3Client& client();
  const std::string& prefix() const;
  // With --s3-upload=async: starts the threads that drain the outbox
  // (`<data-dir>/outbox/`) to the bucket, records left by a previous run
  // first. `on_superseded` gets this node's entries whose create-only
  // publish lost to another node's different bytes (App drops them
  // locally). Without async uploads, does nothing.
  void StartUploads(std::function<void(const index::Entry&)> on_superseded);
  // Stops those threads (attempts in progress finish); what is left stays
  // in the outbox for the next start. Idempotent.
  void StopUploads();
  // "s3 http://host:port bucket=b prefix=p ...", for the start-up log.
  const std::string& description() const;
  // One HEAD of the bucket, without retries: OK when it answers (for
  // /readyz). Blocks on the network: worker threads only.
  Status CheckReachable();
  // Aborts multipart uploads that crashed writers left (older than a day);
  // returns how many.
  Result<int> AbortStaleUploads();
  // The bucket as the negotiate adapter's presigned-URL backend.
  negotiate::DirectStorage& direct();
  // Removes staging objects of presigned uploads never committed (older
  // than a day); returns how many.
  Result<int> RemoveStaleStaged();

 private:
  struct Parts;
  explicit S3Storage(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace cellar::server
