// RetryingS3Client: an S3Client decorator that retries what may succeed
// when tried again (IsRetryable(): connection errors, 5xx, SlowDown,
// stalls) with capped exponential backoff and full jitter: before attempt n
// (n >= 1) it sleeps a uniformly random time in [0, min(max_delay,
// base_delay * 2^(n-1))]. Uploads are retried only when their body rewinds.
// A GetObject is retried until its response starts; a body that breaks
// mid-stream is reported to the reader, not retried.
// Thread-safety: as S3Client; the sleeper and the random source are called
// concurrently and must be thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <random>

#include "store/s3/s3_client.h"

namespace cellar::s3 {

// Where the retry loop waits; tests record instead of sleeping.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void Sleep(std::chrono::milliseconds duration) = 0;
};

class RealSleeper final : public Sleeper {
 public:
  void Sleep(std::chrono::milliseconds duration) override;
};

struct RetryPolicy {
  int max_attempts = 5;  // including the first
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{5000};
};

class RetryingS3Client final : public S3Client {
 public:
  // Returns a number in [0, 1); defaults to a seeded mt19937 under a mutex.
  using Random = std::function<double()>;

  // `inner` and `sleeper` must outlive this object.
  RetryingS3Client(S3Client& inner, RetryPolicy policy, Sleeper& sleeper, Random random = {});

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

  // The longest sleep before attempt `attempt` (1-based retry count).
  std::chrono::milliseconds DelayCap(int attempt) const;

 private:
  // Runs `call` until it succeeds, fails for good, or attempts run out.
  // `body` (may be null) is rewound before each retry; when it cannot be,
  // the last error stands.
  template <typename R>
  R Run(const std::function<R()>& call, BodySource* body);
  void Backoff(int attempt);

  S3Client& inner_;
  const RetryPolicy policy_;
  Sleeper& sleeper_;
  Random random_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(rng_mu_), used when random_ is empty
};

}  // namespace cellar::s3
