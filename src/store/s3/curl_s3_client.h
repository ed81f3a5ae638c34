// CurlS3Client: S3Client over libcurl. Requests are signed by libcurl
// (CURLOPT_AWS_SIGV4, provider "aws:amz:<region>:s3"); cellar sends
// x-amz-content-sha256 itself because libcurl 7.88 does not and RGW requires
// it (the body's SHA-256 for small bodies, UNSIGNED-PAYLOAD for streamed
// uploads). Downloads are pulled: GetObject returns once the response head
// has arrived and the body moves only as fast as the reader reads it (a
// paused transfer holds at most ~1 MiB). Connections are reused through a
// shared connection cache. Errors follow s3_client.h; the server's XML error
// Code and Message are in the message; credentials never are.
// See docs/s3.md. Thread-safety: as S3Client. Object readers must be
// destroyed before the client (they use its connection cache).
#pragma once

#include <chrono>
#include <memory>

#include "store/s3/s3_client.h"
#include "store/s3/s3_config.h"

namespace cellar::s3 {

struct CurlS3Options {
  std::chrono::milliseconds connect_timeout{10'000};
  // A transfer that moves no byte for this long fails with kDeadlineExceeded.
  std::chrono::milliseconds idle_timeout{60'000};
};

class CurlS3Client final : public S3Client {
 public:
  // REQUIRES: Validate(config).ok().
  explicit CurlS3Client(S3Config config, CurlS3Options options = {});
  ~CurlS3Client() override;

  Status PutObject(const std::string& key, BodySource& body, const PutOptions& options) override;
  Result<std::optional<std::unique_ptr<ObjectReader>>> GetObject(
      const std::string& key, const std::optional<ByteRange>& range) override;
  Result<std::optional<ObjectInfo>> HeadObject(const std::string& key) override;
  Status DeleteObject(const std::string& key) override;
  Result<ListPage> ListObjectsV2(const std::string& prefix,
                                 const std::optional<std::string>& continuation,
                                 int max_keys) override;
  Result<std::string> CreateMultipartUpload(const std::string& key) override;
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                 int part_number, BodySource& body) override;
  Status CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                 const std::vector<CompletedPart>& parts) override;
  Status AbortMultipartUpload(const std::string& key, const std::string& upload_id) override;
  Result<UploadsPage> ListMultipartUploads(const std::string& prefix,
                                           const std::optional<std::string>& key_marker,
                                           const std::optional<std::string>& upload_id_marker) override;

  // Checks that the bucket exists and the credentials are accepted (a HEAD
  // of the bucket): a clear error at start-up instead of at the first write.
  Status CheckBucket();

  struct Shared;  // connection cache shared by all transfers

 private:
  const S3Config config_;
  const CurlS3Options options_;
  std::unique_ptr<Shared> shared_;
};

// ISO 8601 ("2026-12-02T15:00:00.000Z") or RFC 1123 ("Wed, 02 Dec 2026
// 15:00:00 GMT") to Unix milliseconds; 0 when unparsable.
int64_t ParseS3Time(std::string_view text);

}  // namespace cellar::s3
