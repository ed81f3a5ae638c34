#include "store/s3/retrying_s3_client.h"

#include <algorithm>
#include <thread>

namespace cellar::s3 {
namespace {

Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.status();
}

}  // namespace

void RealSleeper::Sleep(std::chrono::milliseconds duration) {
  std::this_thread::sleep_for(duration);
}

RetryingS3Client::RetryingS3Client(S3Client& inner, RetryPolicy policy, Sleeper& sleeper,
                                   Random random)
    : inner_(inner),
      policy_(policy),
      sleeper_(sleeper),
      random_(std::move(random)),
      rng_(std::random_device{}()) {}

std::chrono::milliseconds RetryingS3Client::DelayCap(int attempt) const {
  const int shift = std::clamp(attempt - 1, 0, 30);
  const int64_t cap = policy_.base_delay.count() << shift;
  return std::chrono::milliseconds(std::min<int64_t>(cap, policy_.max_delay.count()));
}

void RetryingS3Client::Backoff(int attempt) {
  double r;
  if (random_) {
    r = random_();
  } else {
    std::lock_guard lock(rng_mu_);
    r = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  }
  const auto cap = DelayCap(attempt);
  sleeper_.Sleep(std::chrono::milliseconds(static_cast<int64_t>(r * static_cast<double>(cap.count()))));
}

template <typename R>
R RetryingS3Client::Run(const std::function<R()>& call, BodySource* body) {
  for (int attempt = 1;; ++attempt) {
    R result = call();
    const Status status = StatusOf(result);
    if (status.ok() || !IsRetryable(status) || attempt >= policy_.max_attempts) return result;
    if (body != nullptr && !body->Rewind().ok()) return result;
    Backoff(attempt);
  }
}

Status RetryingS3Client::PutObject(const std::string& key, BodySource& body,
                                   const PutOptions& options) {
  return Run<Status>([&] { return inner_.PutObject(key, body, options); }, &body);
}

Result<std::optional<std::unique_ptr<ObjectReader>>> RetryingS3Client::GetObject(
    const std::string& key, const std::optional<ByteRange>& range) {
  using R = Result<std::optional<std::unique_ptr<ObjectReader>>>;
  return Run<R>([&] { return inner_.GetObject(key, range); }, nullptr);
}

Result<std::optional<ObjectInfo>> RetryingS3Client::HeadObject(const std::string& key) {
  using R = Result<std::optional<ObjectInfo>>;
  return Run<R>([&] { return inner_.HeadObject(key); }, nullptr);
}

Status RetryingS3Client::DeleteObject(const std::string& key) {
  return Run<Status>([&] { return inner_.DeleteObject(key); }, nullptr);
}

Result<ListPage> RetryingS3Client::ListObjectsV2(const std::string& prefix,
                                                 const std::optional<std::string>& continuation,
                                                 int max_keys) {
  return Run<Result<ListPage>>(
      [&] { return inner_.ListObjectsV2(prefix, continuation, max_keys); }, nullptr);
}

Result<std::string> RetryingS3Client::CreateMultipartUpload(const std::string& key) {
  return Run<Result<std::string>>([&] { return inner_.CreateMultipartUpload(key); }, nullptr);
}

Result<std::string> RetryingS3Client::UploadPart(const std::string& key,
                                                 const std::string& upload_id, int part_number,
                                                 BodySource& body) {
  return Run<Result<std::string>>(
      [&] { return inner_.UploadPart(key, upload_id, part_number, body); }, &body);
}

Status RetryingS3Client::CompleteMultipartUpload(const std::string& key,
                                                 const std::string& upload_id,
                                                 const std::vector<CompletedPart>& parts) {
  return Run<Status>([&] { return inner_.CompleteMultipartUpload(key, upload_id, parts); },
                     nullptr);
}

Status RetryingS3Client::AbortMultipartUpload(const std::string& key,
                                              const std::string& upload_id) {
  return Run<Status>([&] { return inner_.AbortMultipartUpload(key, upload_id); }, nullptr);
}

Result<UploadsPage> RetryingS3Client::ListMultipartUploads(
    const std::string& prefix, const std::optional<std::string>& key_marker,
    const std::optional<std::string>& upload_id_marker) {
  return Run<Result<UploadsPage>>(
      [&] { return inner_.ListMultipartUploads(prefix, key_marker, upload_id_marker); }, nullptr);
}

}  // namespace cellar::s3
