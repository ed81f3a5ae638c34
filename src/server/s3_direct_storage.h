// S3DirectStorage: the negotiate adapter's DirectStorage over an S3 bucket
// (`cellar serve --storage s3`). Staging objects live under
// `<prefix>/staging/<namespace>/<key>/<upload id>`, committed blobs are the
// S3BlobStore's `<prefix>/blobs/<blake3>`. URLs are SigV4 presigned with the
// bucket's credentials; a staging PUT signs content-length and, when the
// client declared one, x-amz-content-sha256, so the object store itself
// refuses a body of another size or digest (measured on Ceph RGW; see
// docs/s3.md section 9).
// Thread-safety: as DirectStorage. The client, config and blob store must
// outlive this object.
#pragma once

#include "protocols/negotiate/direct_storage.h"
#include "store/s3/s3_blob_store.h"
#include "store/s3/s3_client.h"
#include "store/s3/s3_config.h"

namespace cellar::server {

class S3DirectStorage final : public negotiate::DirectStorage {
 public:
  S3DirectStorage(s3::S3Client& client, const s3::S3Config& config, s3::S3BlobStore& blobs,
                  const env::Clock& clock);

  Result<negotiate::PresignedRequest> PresignStagingPut(const std::string& staging_name, uint64_t size,
                                                        const std::optional<std::string>& sha256_hex,
                                                        int64_t now_unix_s, std::chrono::seconds ttl) override;
  Result<std::optional<negotiate::PresignedRequest>> PresignBlobGet(const Digest& digest, uint64_t size,
                                                                    int64_t now_unix_s,
                                                                    std::chrono::seconds ttl) override;
  Result<std::optional<std::unique_ptr<negotiate::StagedObject>>> OpenStaged(
      const std::string& staging_name) override;
  Status RemoveStaged(const std::string& staging_name) override;
  Result<int> RemoveStaleStaged(std::chrono::seconds older_than) override;

  // The object key of a staging name.
  std::string StagingKey(const std::string& staging_name) const { return staging_prefix_ + staging_name; }

 private:
  s3::S3Client& client_;
  const s3::S3Config& config_;
  s3::S3BlobStore& blobs_;
  const env::Clock& clock_;
  const std::string staging_prefix_;  // "<prefix>/staging/"
};

}  // namespace cellar::server
