// S3Client: the object-store operations cellar needs, over any
// S3-compatible server (AWS, Ceph RGW, MinIO, R2). Keys are bucket-relative
// and passed verbatim (callers add their prefix). Implementations:
// CurlS3Client (the real one), FakeS3Client (in memory, for unit tests, with
// fault injection) and RetryingS3Client (a decorator adding backoff).
//
// Error contract, shared by every implementation so the retry decorator can
// judge any of them:
//  - kUnavailable: worth retrying (connection failed or broke, HTTP 5xx,
//    SlowDown, RequestTimeout);
//  - kDeadlineExceeded: the server stalled (also retried);
//  - kPermissionDenied (403, bad credentials or signature),
//    kNotFound (NoSuchBucket, NoSuchUpload), kAlreadyExists (412 on a
//    create-only PUT), kInvalidArgument (other 4xx): not retried.
// Messages carry the operation, the key and the server's error Code and
// Message; never credentials.
// Thread-safety: every method may be called concurrently. Readers and body
// sources are single-threaded objects. Calls block: run them on worker
// threads, never on an I/O thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace cellar::s3 {

// The bytes of an upload. Rewind() lets a failed attempt be retried; a
// source that cannot rewind returns an error and the attempt is final.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual uint64_t size() const = 0;
  // Up to out.size() bytes; 0 only at the end.
  virtual Result<size_t> Read(std::span<std::byte> out) = 0;
  virtual Status Rewind() = 0;
};

// An object body being downloaded. Destroying it abandons the transfer.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // Bytes this response carries (the range's length for a ranged GET).
  virtual uint64_t size() const = 0;
  // Up to out.size() bytes; 0 only at the end. kUnavailable when the
  // connection breaks or the body ends short of size().
  virtual Result<size_t> Read(std::span<std::byte> out) = 0;
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;
  int64_t last_modified_unix_ms = 0;
};

struct ByteRange {
  uint64_t offset = 0;
  std::optional<uint64_t> length;  // nullopt: to the end
};

struct PutOptions {
  // Create only: fails with kAlreadyExists when the key exists
  // (If-None-Match: *; atomic on RGW and AWS).
  bool if_absent = false;
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  std::optional<std::string> next_token;  // set while more pages remain
};

struct MultipartUpload {
  std::string key;
  std::string upload_id;
  int64_t initiated_unix_ms = 0;
};

struct UploadsPage {
  std::vector<MultipartUpload> uploads;
  // Both set while more pages remain; pass them back to continue.
  std::optional<std::string> next_key_marker;
  std::optional<std::string> next_upload_id_marker;
};

struct CompletedPart {
  int number = 0;  // 1..10000
  std::string etag;
};

class S3Client {
 public:
  virtual ~S3Client() = default;

  virtual Status PutObject(const std::string& key, BodySource& body,
                           const PutOptions& options = {}) = 0;
  // nullopt when the key is absent. With a range, only those bytes (a range
  // starting at or past the end is kInvalidArgument).
  virtual Result<std::optional<std::unique_ptr<ObjectReader>>> GetObject(
      const std::string& key, const std::optional<ByteRange>& range = std::nullopt) = 0;
  virtual Result<std::optional<ObjectInfo>> HeadObject(const std::string& key) = 0;
  // Deleting an absent key is OK.
  virtual Status DeleteObject(const std::string& key) = 0;
  // One page of keys under `prefix`, in key order; pass the previous page's
  // next_token to continue.
  virtual Result<ListPage> ListObjectsV2(const std::string& prefix,
                                         const std::optional<std::string>& continuation,
                                         int max_keys = 1000) = 0;

  // Multipart upload: create, upload parts (each but the last at least
  // 5 MiB), then complete with every part's ETag in order, or abort.
  virtual Result<std::string> CreateMultipartUpload(const std::string& key) = 0;
  virtual Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                         int part_number, BodySource& body) = 0;
  virtual Status CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                         const std::vector<CompletedPart>& parts) = 0;
  // Aborting an unknown upload is OK.
  virtual Status AbortMultipartUpload(const std::string& key, const std::string& upload_id) = 0;
  virtual Result<UploadsPage> ListMultipartUploads(
      const std::string& prefix, const std::optional<std::string>& key_marker,
      const std::optional<std::string>& upload_id_marker) = 0;
};

// Whether an S3Client error may succeed when tried again.
inline bool IsRetryable(const Status& status) {
  return status.code() == Code::kUnavailable || status.code() == Code::kDeadlineExceeded;
}

// A BodySource over bytes in memory (small bodies, tests).
class StringBody final : public BodySource {
 public:
  explicit StringBody(std::string data) : data_(std::move(data)) {}
  uint64_t size() const override { return data_.size(); }
  Result<size_t> Read(std::span<std::byte> out) override;
  Status Rewind() override {
    pos_ = 0;
    return Status::Ok();
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

// Reads `reader` to the end; kResourceExhausted beyond max_bytes.
Result<std::string> ReadAllObject(ObjectReader& reader, size_t max_bytes);

}  // namespace cellar::s3
