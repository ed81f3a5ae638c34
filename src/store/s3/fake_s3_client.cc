#include "store/s3/fake_s3_client.h"

#include <algorithm>
#include <cstring>

namespace cellar::s3 {
namespace {

class FakeReader final : public ObjectReader {
 public:
  FakeReader(std::shared_ptr<const std::string> bytes, size_t offset, size_t length)
      : bytes_(std::move(bytes)), pos_(offset), end_(offset + length) {}
  uint64_t size() const override { return end_ - pos_ + read_; }
  Result<size_t> Read(std::span<std::byte> out) override {
    const size_t n = std::min(out.size(), end_ - pos_);
    if (n > 0) std::memcpy(out.data(), bytes_->data() + pos_, n);
    pos_ += n;
    read_ += n;
    return n;
  }

 private:
  std::shared_ptr<const std::string> bytes_;
  size_t pos_;
  const size_t end_;
  size_t read_ = 0;
};

Result<std::string> Drain(BodySource& body) {
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, body.Read(std::as_writable_bytes(std::span(buf))));
    if (n == 0) break;
    out.append(buf, n);
  }
  if (out.size() != body.size()) {
    return Status::InvalidArgument("body gave " + std::to_string(out.size()) +
                                   " bytes, announced " + std::to_string(body.size()));
  }
  return out;
}

}  // namespace

std::string_view S3OpName(S3Op op) {
  switch (op) {
    case S3Op::kPut: return "PUT";
    case S3Op::kGet: return "GET";
    case S3Op::kHead: return "HEAD";
    case S3Op::kDelete: return "DELETE";
    case S3Op::kList: return "LIST";
    case S3Op::kCreateMultipart: return "CREATE_MULTIPART";
    case S3Op::kUploadPart: return "UPLOAD_PART";
    case S3Op::kCompleteMultipart: return "COMPLETE_MULTIPART";
    case S3Op::kAbortMultipart: return "ABORT_MULTIPART";
    case S3Op::kListUploads: return "LIST_UPLOADS";
  }
  return "?";
}

FakeS3Client::FakeS3Client(const env::Clock& clock) : clock_(clock) {}

Status FakeS3Client::Begin(S3Op op, const std::string& key) {
  calls_.emplace_back(op, key);
  auto it = faults_.find(op);
  if (it == faults_.end() || it->second.empty()) return Status::Ok();
  Status s = it->second.front();
  it->second.pop_front();
  return s;
}

std::string FakeS3Client::NextEtag() { return "\"etag-" + std::to_string(++counter_) + "\""; }

Status FakeS3Client::PutObject(const std::string& key, BodySource& body,
                               const PutOptions& options) {
  {
    std::lock_guard lock(mu_);
    CELLAR_RETURN_IF_ERROR(Begin(S3Op::kPut, key));
  }
  CELLAR_ASSIGN_OR_RETURN(std::string bytes, Drain(body));  // outside the lock: may be slow
  std::lock_guard lock(mu_);
  if (options.if_absent && objects_.count(key) != 0) {
    return Status::AlreadyExists("PUT " + key + ": PreconditionFailed: the key exists");
  }
  objects_[key] = Object{std::make_shared<const std::string>(std::move(bytes)), NextEtag(),
                         clock_.NowUnixMs()};
  return Status::Ok();
}

Result<std::optional<std::unique_ptr<ObjectReader>>> FakeS3Client::GetObject(
    const std::string& key, const std::optional<ByteRange>& range) {
  std::lock_guard lock(mu_);
  CELLAR_RETURN_IF_ERROR(Begin(S3Op::kGet, key));
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::optional<std::unique_ptr<ObjectReader>>();
  const size_t size = it->second.bytes->size();
  size_t offset = 0, length = size;
  if (range.has_value()) {
    if (range->offset >= size) {
      return Status::InvalidArgument("GET " + key + ": InvalidRange");
    }
    offset = range->offset;
    length = std::min<uint64_t>(range->length.value_or(size), size - offset);
  }
  return std::optional<std::unique_ptr<ObjectReader>>(
      std::make_unique<FakeReader>(it->second.bytes, offset, length));
}

Result<std::optional<ObjectInfo>> FakeS3Client::HeadObject(const std::string& key) {
  std::lock_guard lock(mu_);
  CELLAR_RETURN_IF_ERROR(Begin(S3Op::kHead, key));
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::optional<ObjectInfo>();
  return std::optional<ObjectInfo>(ObjectInfo{key, it->second.bytes->size(), it->second.etag,
                                              it->second.last_modified_unix_ms});
}

Status FakeS3Client::DeleteObject(const std::string& key) {
  std::lock_guard lock(mu_);
  CELLAR_RETURN_IF_ERROR(Begin(S3Op::kDelete, key));
  objects_.erase(key);
  return Status::Ok();
}

Result<ListPage> FakeS3Client::ListObjectsV2(const std::string& prefix,
                                             const std::optional<std::string>& continuation,
                                             int max_keys) {
  std::lock_guard lock(mu_);
  CELLAR_RETURN_IF_ERROR(Begin(S3Op::kList, prefix));
  ListPage page;
  // The token is the last key returned; listing resumes after it.
  auto it = continuation.has_value() ? objects_.upper_bound(*continuation)
                                     : objects_.lower_bound(prefix);
  for (; it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (static_cast<int>(page.objects.size()) == max_keys) {
      page.next_token = page.objects.back().key;
      break;
    }
    page.objects.push_back(ObjectInfo{it->first, it->second.bytes->size(), it->second.etag,
                                      it->second.last_modified_unix_ms});
  }
  return page;
}

Result<std::string> FakeS3Client::CreateMultipartUpload(const std::string& key) {
  std::lock_guard lock(mu_);
  CELLAR_RETURN_IF_ERROR(Begin(S3Op::kCreateMultipart, key));
  std::string id = "upload-" + std::to_string(++counter_);
  uploads_[id] = Upload{key, clock_.NowUnixMs(), {}};
  return id;
}

Result<std::string> FakeS3Client::UploadPart(const std::string& key, const std::string& upload_id,
                                             int part_number, BodySource& body) {
  {
    std::lock_guard lock(mu_);
    CELLAR_RETURN_IF_ERROR(Begin(S3Op::kUploadPart, key));
  }
  if (part_number < 1 || part_number > 10000) {
    return Status::InvalidArgument("UploadPart " + key + ": part number out of range");
  }
  CELLAR_ASSIGN_OR_RETURN(std::string bytes, Drain(body));
  std::lock_guard lock(mu_);
  auto it = uploads_.find(upload_id);
  if (it == uploads_.end() || it->second.key != key) {
    return Status::NotFound("UploadPart " + key + ": NoSuchUpload");
  }
  std::string etag = NextEtag();
  it->second.parts[part_number] = {etag, std::move(bytes)};
  return etag;
}

Status FakeS3Client::CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                             const std::vector<CompletedPart>& parts) {
  std::lock_guard lock(mu_);
  CELLAR_RETURN_IF_ERROR(Begin(S3Op::kCompleteMultipart, key));
  auto it = uploads_.find(upload_id);
  if (it == uploads_.end() || it->second.key != key) {
    return Status::NotFound("CompleteMultipartUpload " + key + ": NoSuchUpload");
  }
  std::string bytes;
  int last = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto part = it->second.parts.find(parts[i].number);
    if (parts[i].number <= last || part == it->second.parts.end() ||
        part->second.first != parts[i].etag) {
      return Status::InvalidArgument("CompleteMultipartUpload " + key + ": InvalidPart");
    }
    if (i + 1 < parts.size() && part->second.second.size() < 5 * 1024 * 1024) {
      return Status::InvalidArgument("CompleteMultipartUpload " + key + ": EntityTooSmall");
    }
    last = parts[i].number;
    bytes += part->second.second;
  }
  objects_[key] = Object{std::make_shared<const std::string>(std::move(bytes)),
                         NextEtag() + "-" + std::to_string(parts.size()), clock_.NowUnixMs()};
  uploads_.erase(it);
  return Status::Ok();
}

Status FakeS3Client::AbortMultipartUpload(const std::string& key, const std::string& upload_id) {
  std::lock_guard lock(mu_);
  CELLAR_RETURN_IF_ERROR(Begin(S3Op::kAbortMultipart, key));
  auto it = uploads_.find(upload_id);
  if (it != uploads_.end() && it->second.key == key) uploads_.erase(it);
  return Status::Ok();
}

Result<UploadsPage> FakeS3Client::ListMultipartUploads(
    const std::string& prefix, const std::optional<std::string>& key_marker,
    const std::optional<std::string>& upload_id_marker) {
  std::lock_guard lock(mu_);
  CELLAR_RETURN_IF_ERROR(Begin(S3Op::kListUploads, prefix));
  std::vector<MultipartUpload> all;
  for (const auto& [id, upload] : uploads_) {
    if (upload.key.compare(0, prefix.size(), prefix) == 0) {
      all.push_back(MultipartUpload{upload.key, id, upload.initiated_unix_ms});
    }
  }
  // S3 orders by key, then by upload id (we use ids; S3 uses initiation time).
  std::sort(all.begin(), all.end(), [](const MultipartUpload& a, const MultipartUpload& b) {
    return std::tie(a.key, a.upload_id) < std::tie(b.key, b.upload_id);
  });
  UploadsPage page;
  for (const MultipartUpload& u : all) {
    if (key_marker.has_value()) {
      const bool after = upload_id_marker.has_value()
                             ? std::tie(u.key, u.upload_id) > std::tie(*key_marker, *upload_id_marker)
                             : u.key > *key_marker;
      if (!after) continue;
    }
    if (static_cast<int>(page.uploads.size()) == uploads_page_size_) {
      page.next_key_marker = page.uploads.back().key;
      page.next_upload_id_marker = page.uploads.back().upload_id;
      break;
    }
    page.uploads.push_back(u);
  }
  return page;
}

void FakeS3Client::FailNext(S3Op op, Status status, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) faults_[op].push_back(status);
}

std::vector<std::string> FakeS3Client::Calls() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [op, key] : calls_) out.push_back(std::string(S3OpName(op)) + " " + key);
  return out;
}

void FakeS3Client::ClearCalls() {
  std::lock_guard lock(mu_);
  calls_.clear();
}

size_t FakeS3Client::CountCalls(S3Op op) const {
  std::lock_guard lock(mu_);
  return std::count_if(calls_.begin(), calls_.end(), [op](const auto& c) { return c.first == op; });
}

std::optional<std::string> FakeS3Client::ObjectForTest(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return *it->second.bytes;
}

void FakeS3Client::SetObjectForTest(const std::string& key, std::string bytes) {
  std::lock_guard lock(mu_);
  objects_[key] =
      Object{std::make_shared<const std::string>(std::move(bytes)), NextEtag(), clock_.NowUnixMs()};
}

std::vector<std::string> FakeS3Client::KeysForTest() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [key, object] : objects_) out.push_back(key);
  return out;
}

std::vector<MultipartUpload> FakeS3Client::UploadsForTest() const {
  std::lock_guard lock(mu_);
  std::vector<MultipartUpload> out;
  for (const auto& [id, upload] : uploads_) {
    out.push_back(MultipartUpload{upload.key, id, upload.initiated_unix_ms});
  }
  return out;
}

}  // namespace cellar::s3
