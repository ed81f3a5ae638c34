#include "server/s3_direct_storage.h"

namespace cellar::server {

namespace {
class S3StagedObject final : public negotiate::StagedObject {
 public:
  explicit S3StagedObject(std::unique_ptr<s3::ObjectReader> reader) : reader_(std::move(reader)) {}
  uint64_t size() const override { return reader_->size(); }
  Result<size_t> Read(std::span<std::byte> out) override { return reader_->Read(out); }

 private:
  std::unique_ptr<s3::ObjectReader> reader_;
};
}  // namespace

S3DirectStorage::S3DirectStorage(s3::S3Client& client, const s3::S3Config& config, s3::S3BlobStore& blobs,
                                 const env::Clock& clock)
    : client_(client),
      config_(config),
      blobs_(blobs),
      clock_(clock),
      staging_prefix_(s3::KeyPrefix(config.prefix) + "staging/") {}

Result<negotiate::PresignedRequest> S3DirectStorage::PresignStagingPut(const std::string& staging_name, uint64_t size,
                                                                       const std::optional<std::string>& sha256_hex,
                                                                       int64_t now_unix_s, std::chrono::seconds ttl) {
  // content-length is sent by every HTTP client anyway; only the digest
  // header is something the client must add.
  std::vector<std::pair<std::string, std::string>> signed_headers = {{"content-length", std::to_string(size)}};
  negotiate::PresignedRequest request;
  if (sha256_hex) {
    signed_headers.emplace_back("x-amz-content-sha256", *sha256_hex);
    request.headers.emplace_back("x-amz-content-sha256", *sha256_hex);
  }
  CELLAR_ASSIGN_OR_RETURN(request.url, s3::PresignUrl(config_, "PUT", StagingKey(staging_name), now_unix_s, ttl,
                                                      std::move(signed_headers)));
  return request;
}

Result<std::optional<negotiate::PresignedRequest>> S3DirectStorage::PresignBlobGet(const Digest& digest,
                                                                                   uint64_t size,
                                                                                   int64_t now_unix_s,
                                                                                   std::chrono::seconds ttl) {
  const std::string key = blobs_.KeyFor(digest);
  // The bucket holds every blob committed with --storage s3, but not those
  // stored before; and an object of another size is damaged. A blob this
  // node just wrote or saw is not asked about again.
  if (!blobs_.KnownInBucket(digest, size)) {
    CELLAR_ASSIGN_OR_RETURN(std::optional<store::BlobInfo> info, blobs_.Stat(digest));
    if (!info || info->size != size) return std::optional<negotiate::PresignedRequest>();
  }
  CELLAR_ASSIGN_OR_RETURN(std::string url, s3::PresignUrl(config_, "GET", key, now_unix_s, ttl));
  return std::optional<negotiate::PresignedRequest>(negotiate::PresignedRequest{std::move(url), {}});
}

Result<std::optional<std::unique_ptr<negotiate::StagedObject>>> S3DirectStorage::OpenStaged(
    const std::string& staging_name) {
  using Staged = std::optional<std::unique_ptr<negotiate::StagedObject>>;
  CELLAR_ASSIGN_OR_RETURN(auto reader, client_.GetObject(StagingKey(staging_name)));
  if (!reader) return Staged();
  return Staged(std::make_unique<S3StagedObject>(std::move(*reader)));
}

Status S3DirectStorage::RemoveStaged(const std::string& staging_name) {
  return client_.DeleteObject(StagingKey(staging_name));
}

Result<int> S3DirectStorage::RemoveStaleStaged(std::chrono::seconds older_than) {
  const int64_t cutoff_ms = clock_.NowUnixMs() - older_than.count() * 1000;
  int removed = 0;
  std::optional<std::string> token;
  do {
    CELLAR_ASSIGN_OR_RETURN(s3::ListPage page, client_.ListObjectsV2(staging_prefix_, token, 1000));
    for (const s3::ObjectInfo& object : page.objects) {
      if (object.last_modified_unix_ms >= cutoff_ms) continue;
      CELLAR_RETURN_IF_ERROR(client_.DeleteObject(object.key));
      ++removed;
    }
    token = page.next_token;
  } while (token);
  return removed;
}

}  // namespace cellar::server
