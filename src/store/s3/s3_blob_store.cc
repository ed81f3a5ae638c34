#include "store/s3/s3_blob_store.h"

#include "store/s3/s3_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "hash/blake3.h"
#include "store/fs_io.h"

namespace cellar::s3 {
namespace {


store::BlobInfo InfoOf(const Digest& digest, uint64_t size) {
  return store::BlobInfo{digest, size, size, false};
}

// An unlinked temporary file: nothing is left behind whatever happens.
Result<store::UniqueFd> OpenSpool(const std::string& dir_option) {
  std::string dir = dir_option;
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {  // file systems without O_TMPFILE
    std::string path = dir + "/cellar-s3-spool.XXXXXX";
    fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "creating a spool file in " + dir);
    ::unlink(path.c_str());
  }
  return store::UniqueFd(fd);
}

// The bytes [offset, offset+length) of a spool file, read with pread so
// several parts of one file can upload at once.
class FileRangeBody final : public BodySource {
 public:
  FileRangeBody(int fd, uint64_t offset, uint64_t length)
      : fd_(fd), offset_(offset), length_(length) {}
  uint64_t size() const override { return length_; }
  Result<size_t> Read(std::span<std::byte> out) override {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), length_ - pos_));
    if (want == 0) return size_t{0};
    CELLAR_ASSIGN_OR_RETURN(size_t n, store::PreadFull(fd_, out.data(), want,
                                                       static_cast<off_t>(offset_ + pos_), "spool"));
    if (n == 0) return Status::Internal("spool file shorter than written");
    pos_ += n;
    return n;
  }
  Status Rewind() override {
    pos_ = 0;
    return Status::Ok();
  }

 private:
  const int fd_;
  const uint64_t offset_;
  const uint64_t length_;
  uint64_t pos_ = 0;
};

// Streams a GET and checks the digest when the body ends.
class S3BlobReader final : public store::BlobReader {
 public:
  S3BlobReader(std::unique_ptr<ObjectReader> body, Digest digest)
      : body_(std::move(body)), digest_(digest) {}
  uint64_t size() const override { return body_->size(); }
  std::optional<store::RawFileRange> RawFile() const override { return std::nullopt; }
  Result<size_t> Read(std::span<std::byte> out) override {
    if (ended_) return size_t{0};
    CELLAR_ASSIGN_OR_RETURN(size_t n, body_->Read(out));
    if (n > 0) {
      hasher_.Update(out.data(), n);
      return n;
    }
    if (Digest{hasher_.Finalize()} != digest_) {
      return Status::Corruption("S3 object of blob " + digest_.Hex() +
                                " holds other bytes (its digest does not match)");
    }
    ended_ = true;
    return size_t{0};
  }

 private:
  std::unique_ptr<ObjectReader> body_;
  const Digest digest_;
  hash::Blake3Hasher hasher_;
  bool ended_ = false;
};

}  // namespace

class S3BlobStore::Writer final : public store::BlobWriter {
 public:
  Writer(S3BlobStore& store, store::UniqueFd fd) : store_(store), fd_(std::move(fd)) {}

  Status Write(std::span<const std::byte> data) override {
    if (done_) return Status::Internal("BlobWriter::Write after Commit");
    CELLAR_RETURN_IF_ERROR(store::WriteAll(fd_.get(), data.data(), data.size(), nullptr, "spool"));
    hasher_.Update(data.data(), data.size());
    written_ += data.size();
    return Status::Ok();
  }

  uint64_t bytes_written() const override { return written_; }

  Result<store::BlobInfo> Commit(const std::optional<Digest>& expected) override {
    if (done_) return Status::Internal("BlobWriter::Commit called twice");
    done_ = true;
    const Digest digest{hasher_.Finalize()};
    if (expected.has_value() && *expected != digest) {
      return Status::Corruption("blob content hashes to " + digest.Hex() + ", expected " +
                                expected->Hex());
    }
    const std::string key = store_.KeyFor(digest);
    // Content-addressed keys never change meaning: an object of the right
    // size is these bytes, and uploading a large one again would only cost
    // bandwidth. A small one is cheaper to send than to ask about.
    bool present = false;
    if (written_ >= store_.options_.head_before_put_bytes) {
      CELLAR_ASSIGN_OR_RETURN(std::optional<ObjectInfo> existing, store_.client_.HeadObject(key));
      present = existing.has_value() && existing->size == written_;
    }
    if (!present) CELLAR_RETURN_IF_ERROR(store_.Upload(fd_.get(), written_, key));
    store_.known_.Remember(digest, written_);
    fd_.Reset();
    return InfoOf(digest, written_);
  }

 private:
  S3BlobStore& store_;
  store::UniqueFd fd_;
  hash::Blake3Hasher hasher_;
  uint64_t written_ = 0;
  bool done_ = false;
};

S3BlobStore::S3BlobStore(S3Client& client, const env::Clock& clock, S3BlobStoreOptions options)
    : client_(client),
      clock_(clock),
      options_(std::move(options)),
      blobs_prefix_(KeyPrefix(options_.prefix) + "blobs/"),
      known_(clock, options_.known_blob_ttl_ms, options_.known_blobs_max) {}

std::string S3BlobStore::KeyFor(const Digest& digest) const { return blobs_prefix_ + digest.Hex(); }

Result<std::unique_ptr<store::BlobWriter>> S3BlobStore::NewWriter() {
  CELLAR_ASSIGN_OR_RETURN(store::UniqueFd fd, OpenSpool(options_.spool_dir));
  return std::unique_ptr<store::BlobWriter>(std::make_unique<Writer>(*this, std::move(fd)));
}

Status S3BlobStore::Upload(int fd, uint64_t size, const std::string& key) {
  if (size < options_.multipart_threshold) {
    FileRangeBody body(fd, 0, size);
    return client_.PutObject(key, body, {});
  }
  return UploadMultipart(fd, size, key);
}

Status S3BlobStore::UploadMultipart(int fd, uint64_t size, const std::string& key) {
  const uint64_t part_size = std::max<uint64_t>(options_.part_size, 1);
  const int parts = static_cast<int>((size + part_size - 1) / part_size);
  if (parts > 10000) {
    return Status::InvalidArgument("blob of " + std::to_string(size) +
                                   " bytes needs more than 10000 parts; raise the part size");
  }
  CELLAR_ASSIGN_OR_RETURN(std::string upload_id, client_.CreateMultipartUpload(key));

  std::vector<CompletedPart> done(static_cast<size_t>(parts));
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first_error;  // GUARDED_BY(mu)
  auto work = [&] {
    for (int i; !failed.load() && (i = next.fetch_add(1)) < parts;) {
      const uint64_t offset = static_cast<uint64_t>(i) * part_size;
      FileRangeBody body(fd, offset, std::min(part_size, size - offset));
      Result<std::string> etag = client_.UploadPart(key, upload_id, i + 1, body);
      if (!etag.ok()) {
        std::lock_guard lock(mu);
        if (first_error.ok()) first_error = etag.error();
        failed = true;
        return;
      }
      done[static_cast<size_t>(i)] = CompletedPart{i + 1, *etag};
    }
  };
  const int threads = std::clamp(options_.parallel_parts, 1, parts);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();

  Status status = first_error;
  if (status.ok()) status = client_.CompleteMultipartUpload(key, upload_id, done);
  if (!status.ok()) {
    // Parts of an unfinished upload are kept (and billed) until aborted. A
    // failed abort is left to AbortStaleUploads().
    (void)client_.AbortMultipartUpload(key, upload_id);
  }
  return status;
}

Result<std::optional<std::unique_ptr<store::BlobReader>>> S3BlobStore::Open(const Digest& digest) {
  using Out = std::optional<std::unique_ptr<store::BlobReader>>;
  CELLAR_ASSIGN_OR_RETURN(std::optional<std::unique_ptr<ObjectReader>> body,
                          client_.GetObject(KeyFor(digest), std::nullopt));
  if (!body.has_value()) return Out();
  return Out(std::make_unique<S3BlobReader>(std::move(*body), digest));
}

Result<std::optional<store::BlobInfo>> S3BlobStore::Stat(const Digest& digest) {
  CELLAR_ASSIGN_OR_RETURN(std::optional<ObjectInfo> info, client_.HeadObject(KeyFor(digest)));
  if (!info.has_value()) {
    known_.Forget(digest);
    return std::optional<store::BlobInfo>();
  }
  known_.Remember(digest, info->size);
  return std::optional<store::BlobInfo>(InfoOf(digest, info->size));
}

Status S3BlobStore::Remove(const Digest& digest) {
  known_.Forget(digest);
  return client_.DeleteObject(KeyFor(digest));
}

Status S3BlobStore::ReportCorrupt(const Digest& digest) {
  CELLAR_ASSIGN_OR_RETURN(std::optional<std::unique_ptr<store::BlobReader>> reader, Open(digest));
  if (!reader.has_value()) return Status::Ok();
  std::vector<std::byte> buf(256 * 1024);
  for (;;) {
    Result<size_t> n = (*reader)->Read(buf);
    if (!n.ok()) {
      if (n.error().code() != Code::kCorruption) return n.error();
      known_.Forget(digest);
      return client_.DeleteObject(KeyFor(digest));  // the bytes do not hash to the key
    }
    if (*n == 0) return Status::Ok();
  }
}

Status S3BlobStore::ForEach(const std::function<void(const store::BlobInfo&)>& fn) {
  std::optional<std::string> token;
  do {
    CELLAR_ASSIGN_OR_RETURN(ListPage page, client_.ListObjectsV2(blobs_prefix_, token, 1000));
    for (const ObjectInfo& object : page.objects) {
      Result<Digest> digest = Digest::FromHex(std::string_view(object.key).substr(blobs_prefix_.size()));
      if (digest.ok()) fn(InfoOf(*digest, object.size));
    }
    token = std::move(page.next_token);
  } while (token.has_value());
  return Status::Ok();
}

Result<int> S3BlobStore::AbortStaleUploads(std::chrono::seconds older_than) {
  const int64_t cutoff =
      clock_.NowUnixMs() - std::chrono::duration_cast<std::chrono::milliseconds>(older_than).count();
  int aborted = 0;
  std::optional<std::string> key_marker, id_marker;
  do {
    CELLAR_ASSIGN_OR_RETURN(UploadsPage page,
                            client_.ListMultipartUploads(blobs_prefix_, key_marker, id_marker));
    for (const MultipartUpload& upload : page.uploads) {
      if (upload.initiated_unix_ms >= cutoff) continue;
      CELLAR_RETURN_IF_ERROR(client_.AbortMultipartUpload(upload.key, upload.upload_id));
      ++aborted;
    }
    key_marker = std::move(page.next_key_marker);
    id_marker = std::move(page.next_upload_id_marker);
  } while (key_marker.has_value());
  return aborted;
}

}  // namespace cellar::s3
