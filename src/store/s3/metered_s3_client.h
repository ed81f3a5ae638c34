// MeteredS3Client: an S3Client decorator that counts every request by
// operation and result, the bytes moved each way, and each request's
// latency, in a metrics::Registry:
//   cellar_s3_requests_total{operation, result}   result: ok, miss (GET/HEAD
//       of an absent key), or the error's code name (Unavailable, ...)
//   cellar_s3_bytes_total{direction}             upload (request bodies that
//       were accepted), download (object bytes read)
//   cellar_s3_request_seconds{operation}          time to the answer (a GET's
//       to its headers; the body streams afterwards)
// Placed under RetryingS3Client, so every attempt is one request. Within a
// traced request's scope (trace/current_span.h) each request is also a
// client span ("S3 put", ...) with the key and the result.
// Thread-safety: as S3Client. `inner`, `registry` and `clock` must outlive
// this object; readers it returns must not outlive it.
#pragma once

#include "env/clock.h"
#include "metrics/metrics.h"
#include "store/s3/s3_client.h"

namespace cellar::s3 {

class MeteredS3Client final : public S3Client {
 public:
  MeteredS3Client(S3Client& inner, metrics::Registry& registry, const env::Clock& clock);

  Status PutObject(const std::string& key, BodySource& body, const PutOptions& options) override;
  Result<std::optional<std::unique_ptr<ObjectReader>>> GetObject(
      const std::string& key, const std::optional<ByteRange>& range) override;
  Result<std::optional<ObjectInfo>> HeadObject(const std::string& key) override;
  Status DeleteObject(const std::string& key) override;
  Result<ListPage> ListObjectsV2(const std::string& prefix, const std::optional<std::string>& continuation,
                                 int max_keys) override;
  Result<std::string> CreateMultipartUpload(const std::string& key) override;
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id, int part_number,
                                 BodySource& body) override;
  Status CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                 const std::vector<CompletedPart>& parts) override;
  Status AbortMultipartUpload(const std::string& key, const std::string& upload_id) override;
  Result<UploadsPage> ListMultipartUploads(const std::string& prefix, const std::optional<std::string>& key_marker,
                                           const std::optional<std::string>& upload_id_marker) override;

 private:
  class Reader;
  struct Started {
    std::chrono::steady_clock::time_point at;
    int64_t unix_ns = 0;  // only when a trace is current
  };
  Started Begin() const;
  // Records one request of `op` on `key` that started at `start` and ended
  // with `status` (`miss` when it found no object).
  void Record(std::string_view op, const std::string& key, const Started& start, const Status& status,
              bool miss = false);

  S3Client& inner_;
  const env::Clock& clock_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Counter>& bytes_;
  metrics::Family<metrics::Histogram>& seconds_;
};

}  // namespace cellar::s3
