// FakeS3Client: an S3Client in memory for unit tests. Follows the contract
// of s3_client.h (misses, create-only PUTs, list order and paging, multipart
// semantics) and adds what tests need: scripted faults per operation, a log
// of the calls made, and direct access to stored bytes (to damage them).
// Thread-safety: all methods may be called concurrently (one mutex).
// Readers share the bytes, so a delete during a read is safe.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "env/clock.h"
#include "store/s3/s3_client.h"

namespace cellar::s3 {

enum class S3Op {
  kPut,
  kGet,
  kHead,
  kDelete,
  kList,
  kCreateMultipart,
  kUploadPart,
  kCompleteMultipart,
  kAbortMultipart,
  kListUploads,
};
std::string_view S3OpName(S3Op op);

class FakeS3Client final : public S3Client {
 public:
  // `clock` stamps objects and uploads; it must outlive this object.
  explicit FakeS3Client(const env::Clock& clock);

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

  // The next `times` calls of `op` fail with `status` before doing anything.
  void FailNext(S3Op op, Status status, int times = 1);
  // Every call, in order, as "<OP> <key>" (e.g. "PUT blobs/ab..").
  std::vector<std::string> Calls() const;
  void ClearCalls();
  size_t CountCalls(S3Op op) const;

  // Stored bytes of `key`, or nullopt.
  std::optional<std::string> ObjectForTest(const std::string& key) const;
  void SetObjectForTest(const std::string& key, std::string bytes);
  std::vector<std::string> KeysForTest() const;
  // Upload ids in progress.
  std::vector<MultipartUpload> UploadsForTest() const;
  // Page size of ListMultipartUploads (S3's is 1000), small to test paging.
  void SetUploadsPageSizeForTest(int n) { uploads_page_size_ = n; }

 private:
  struct Object {
    std::shared_ptr<const std::string> bytes;
    std::string etag;
    int64_t last_modified_unix_ms = 0;
  };
  struct Upload {
    std::string key;
    int64_t initiated_unix_ms = 0;
    std::map<int, std::pair<std::string, std::string>> parts;  // number -> (etag, bytes)
  };

  // Logs the call and pops a scripted fault. REQUIRES: mu_ held.
  Status Begin(S3Op op, const std::string& key);
  std::string NextEtag();

  const env::Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Object> objects_;               // GUARDED_BY(mu_)
  std::map<std::string, Upload> uploads_;               // GUARDED_BY(mu_), by upload id
  std::map<S3Op, std::deque<Status>> faults_;           // GUARDED_BY(mu_)
  std::vector<std::pair<S3Op, std::string>> calls_;     // GUARDED_BY(mu_)
  uint64_t counter_ = 0;                                // GUARDED_BY(mu_)
  int uploads_page_size_ = 1000;
};

}  // namespace cellar::s3
