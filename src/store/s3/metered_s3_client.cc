#include "store/s3/metered_s3_client.h"

#include <chrono>

namespace cellar::s3 {

// Counts the bytes a download hands out.
class MeteredS3Client::Reader final : public ObjectReader {
 public:
  Reader(std::unique_ptr<ObjectReader> inner, metrics::Counter& bytes) : inner_(std::move(inner)), bytes_(bytes) {}
  uint64_t size() const override { return inner_->size(); }
  Result<size_t> Read(std::span<std::byte> out) override {
    auto n = inner_->Read(out);
    if (n.ok()) bytes_.Inc(*n);
    return n;
  }

 private:
  std::unique_ptr<ObjectReader> inner_;
  metrics::Counter& bytes_;
};

MeteredS3Client::MeteredS3Client(S3Client& inner, metrics::Registry& registry, const env::Clock& clock)
    : inner_(inner),
      clock_(clock),
      requests_(registry.AddCounter("cellar_s3_requests_total",
                                    "Requests to the S3 bucket by operation and result (ok, miss, or the error).",
                                    {"operation", "result"})),
      bytes_(registry.AddCounter("cellar_s3_bytes_total", "Bytes moved to (upload) and from (download) the bucket.",
                                 {"direction"})),
      seconds_(registry.AddHistogram("cellar_s3_request_seconds",
                                     "Time to the bucket's answer by operation (a GET's to its headers).",
                                     {"operation"}, metrics::LatencyBucketsSeconds())) {}

void MeteredS3Client::Record(std::string_view op, std::chrono::steady_clock::time_point start,
                             const Status& status, bool miss) {
  const std::chrono::duration<double> took = clock_.Monotonic() - start;
  seconds_.With({op}).Observe(took.count());
  std::string_view result = status.ok() ? (miss ? "miss" : "ok") : CodeName(status.code());
  requests_.With({op, result}).Inc();
}

Status MeteredS3Client::PutObject(const std::string& key, BodySource& body, const PutOptions& options) {
  const auto start = clock_.Monotonic();
  Status s = inner_.PutObject(key, body, options);
  Record("put", start, s);
  if (s.ok()) bytes_.With({"upload"}).Inc(body.size());
  return s;
}

Result<std::optional<std::unique_ptr<ObjectReader>>> MeteredS3Client::GetObject(
    const std::string& key, const std::optional<ByteRange>& range) {
  const auto start = clock_.Monotonic();
  auto got = inner_.GetObject(key, range);
  Record("get", start, got.ok() ? Status() : got.error(), got.ok() && !*got);
  if (!got.ok() || !*got) return got;
  return std::optional<std::unique_ptr<ObjectReader>>(
      std::make_unique<Reader>(std::move(**got), bytes_.With({"download"})));
}

Result<std::optional<ObjectInfo>> MeteredS3Client::HeadObject(const std::string& key) {
  const auto start = clock_.Monotonic();
  auto info = inner_.HeadObject(key);
  Record("head", start, info.ok() ? Status() : info.error(), info.ok() && !*info);
  return info;
}

Status MeteredS3Client::DeleteObject(const std::string& key) {
  const auto start = clock_.Monotonic();
  Status s = inner_.DeleteObject(key);
  Record("delete", start, s);
  return s;
}

Result<ListPage> MeteredS3Client::ListObjectsV2(const std::string& prefix,
                                                const std::optional<std::string>& continuation, int max_keys) {
  const auto start = clock_.Monotonic();
  auto page = inner_.ListObjectsV2(prefix, continuation, max_keys);
  Record("list", start, page.ok() ? Status() : page.error());
  return page;
}

Result<std::string> MeteredS3Client::CreateMultipartUpload(const std::string& key) {
  const auto start = clock_.Monotonic();
  auto id = inner_.CreateMultipartUpload(key);
  Record("create_multipart", start, id.ok() ? Status() : id.error());
  return id;
}

Result<std::string> MeteredS3Client::UploadPart(const std::string& key, const std::string& upload_id,
                                                int part_number, BodySource& body) {
  const auto start = clock_.Monotonic();
  auto etag = inner_.UploadPart(key, upload_id, part_number, body);
  Record("upload_part", start, etag.ok() ? Status() : etag.error());
  if (etag.ok()) bytes_.With({"upload"}).Inc(body.size());
  return etag;
}

Status MeteredS3Client::CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                                const std::vector<CompletedPart>& parts) {
  const auto start = clock_.Monotonic();
  Status s = inner_.CompleteMultipartUpload(key, upload_id, parts);
  Record("complete_multipart", start, s);
  return s;
}

Status MeteredS3Client::AbortMultipartUpload(const std::string& key, const std::string& upload_id) {
  const auto start = clock_.Monotonic();
  Status s = inner_.AbortMultipartUpload(key, upload_id);
  Record("abort_multipart", start, s);
  return s;
}

Result<UploadsPage> MeteredS3Client::ListMultipartUploads(const std::string& prefix,
                                                          const std::optional<std::string>& key_marker,
                                                          const std::optional<std::string>& upload_id_marker) {
  const auto start = clock_.Monotonic();
  auto page = inner_.ListMultipartUploads(prefix, key_marker, upload_id_marker);
  Record("list_uploads", start, page.ok() ? Status() : page.error());
  return page;
}

}  // namespace cellar::s3
