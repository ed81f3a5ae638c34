#include "store/s3/metered_s3_client.h"

#include <chrono>

#include "trace/current_span.h"
#include "trace/tracer.h"

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

MeteredS3Client::Started MeteredS3Client::Begin() const {
  return {clock_.Monotonic(), trace::Current() != nullptr ? trace::NowUnixNs() : 0};
}

void MeteredS3Client::Record(std::string_view op, const std::string& key, const Started& start,
                             const Status& status, bool miss) {
  const std::chrono::duration<double> took = clock_.Monotonic() - start.at;
  seconds_.With({op}).Observe(took.count());
  std::string_view result = status.ok() ? (miss ? "miss" : "ok") : CodeName(status.code());
  requests_.With({op, result}).Inc();
  const trace::CurrentSpan* current = trace::Current();
  if (current == nullptr || start.unix_ns == 0 || !current->context.sampled) return;
  trace::SpanData span;
  span.context = trace::Tracer::StartChildSpan(current->context);
  span.parent = current->context.span_id;
  span.name = "S3 " + std::string(op);
  span.kind = trace::SpanKind::kClient;
  span.start_unix_ns = start.unix_ns;
  span.end_unix_ns = trace::NowUnixNs();
  span.attributes = {{"rpc.system", std::string("aws-api")},
                     {"rpc.service", std::string("S3")},
                     {"rpc.method", std::string(op)},
                     {"aws.s3.key", key},
                     {"cellar.s3.result", std::string(result)}};
  if (!status.ok()) {
    span.error = true;
    span.status_message = status.message();
  }
  current->tracer->Record(std::move(span));
}

Status MeteredS3Client::PutObject(const std::string& key, BodySource& body, const PutOptions& options) {
  const Started start = Begin();
  Status s = inner_.PutObject(key, body, options);
  Record("put", key, start, s);
  if (s.ok()) bytes_.With({"upload"}).Inc(body.size());
  return s;
}

Result<std::optional<std::unique_ptr<ObjectReader>>> MeteredS3Client::GetObject(
    const std::string& key, const std::optional<ByteRange>& range) {
  const Started start = Begin();
  auto got = inner_.GetObject(key, range);
  Record("get", key, start, got.ok() ? Status() : got.error(), got.ok() && !*got);
  if (!got.ok() || !*got) return got;
  return std::optional<std::unique_ptr<ObjectReader>>(
      std::make_unique<Reader>(std::move(**got), bytes_.With({"download"})));
}

Result<std::optional<ObjectInfo>> MeteredS3Client::HeadObject(const std::string& key) {
  const Started start = Begin();
  auto info = inner_.HeadObject(key);
  Record("head", key, start, info.ok() ? Status() : info.error(), info.ok() && !*info);
  return info;
}

Status MeteredS3Client::DeleteObject(const std::string& key) {
  const Started start = Begin();
  Status s = inner_.DeleteObject(key);
  Record("delete", key, start, s);
  return s;
}

Result<ListPage> MeteredS3Client::ListObjectsV2(const std::string& prefix,
                                                const std::optional<std::string>& continuation, int max_keys) {
  const Started start = Begin();
  auto page = inner_.ListObjectsV2(prefix, continuation, max_keys);
  Record("list", prefix, start, page.ok() ? Status() : page.error());
  return page;
}

Result<std::string> MeteredS3Client::CreateMultipartUpload(const std::string& key) {
  const Started start = Begin();
  auto id = inner_.CreateMultipartUpload(key);
  Record("create_multipart", key, start, id.ok() ? Status() : id.error());
  return id;
}

Result<std::string> MeteredS3Client::UploadPart(const std::string& key, const std::string& upload_id,
                                                int part_number, BodySource& body) {
  const Started start = Begin();
  auto etag = inner_.UploadPart(key, upload_id, part_number, body);
  Record("upload_part", key, start, etag.ok() ? Status() : etag.error());
  if (etag.ok()) bytes_.With({"upload"}).Inc(body.size());
  return etag;
}

Status MeteredS3Client::CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                                const std::vector<CompletedPart>& parts) {
  const Started start = Begin();
  Status s = inner_.CompleteMultipartUpload(key, upload_id, parts);
  Record("complete_multipart", key, start, s);
  return s;
}

Status MeteredS3Client::AbortMultipartUpload(const std::string& key, const std::string& upload_id) {
  const Started start = Begin();
  Status s = inner_.AbortMultipartUpload(key, upload_id);
  Record("abort_multipart", key, start, s);
  return s;
}

Result<UploadsPage> MeteredS3Client::ListMultipartUploads(const std::string& prefix,
                                                          const std::optional<std::string>& key_marker,
                                                          const std::optional<std::string>& upload_id_marker) {
  const Started start = Begin();
  auto page = inner_.ListMultipartUploads(prefix, key_marker, upload_id_marker);
  Record("list_uploads", prefix, start, page.ok() ? Status() : page.error());
  return page;
}

}  // namespace cellar::s3
