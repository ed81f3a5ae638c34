#include "store/fs_blob_writer.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "store/compressibility.h"
#include "store/fs_blob_check.h"
#include "store/fs_blob_reader.h"

namespace cellar::store {
namespace {

// Large enough that a streamed PUT costs few write(2) calls; small enough
// that hundreds of concurrent uploads do not add up to much memory.
constexpr size_t kWriteBufferSize = 512 * 1024;
// While compressing, how often to check that compression still pays off. A
// blob whose first probe compresses but whose body does not (a tarball of
// binaries behind a text header) is switched to raw at the first check.
constexpr uint64_t kRatioCheckInterval = 4 * 1024 * 1024;
// Read buffer for hashing a copy of the blob that is already in place.
constexpr size_t kCheckBufferSize = 256 * 1024;

// "Worth compressing" means the payload is at most 90% of the logical size.
bool SavesTenPercent(uint64_t compressed, uint64_t raw) { return compressed * 10 <= raw * 9; }

// Every frame this writer produces carries zstd's content checksum (set by
// ZstdContextPool), so zstd files are marked as such.
std::array<uint8_t, kBlobHeaderSize> Header(BlobFormat format, uint64_t size) {
  return EncodeBlobHeader(BlobFileHeader{format, size, format == BlobFormat::kZstd});
}

}  // namespace

FsBlobWriter::FsBlobWriter(std::shared_ptr<FsStoreContext> ctx) : ctx_(std::move(ctx)) {}

FsBlobWriter::~FsBlobWriter() { DiscardTemp(); }

Status FsBlobWriter::Write(std::span<const std::byte> data) {
  if (mode_ == Mode::kFailed) return failure_;
  if (mode_ == Mode::kDone) return Status::Internal("BlobWriter::Write after Commit");
  if (data.empty()) return Status::Ok();
  hasher_.Update(data.data(), data.size());
  size_ += data.size();
  Status s = WriteInMode(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  return s.ok() ? s : Fail(std::move(s));
}

Status FsBlobWriter::WriteInMode(const uint8_t* data, size_t len) {
  if (mode_ == Mode::kProbing) {
    EnsureBuffer();
    const size_t room = ctx_->options.probe_size - ProbeSize();
    // Only a probe that overflows is decided here; a blob that fits in it is
    // decided whole at Commit().
    if (len <= room) {
      std::memcpy(buf_.get() + buf_len_, data, len);
      buf_len_ += len;
      return Status::Ok();
    }
    std::memcpy(buf_.get() + buf_len_, data, room);
    buf_len_ += room;
    data += room;
    len -= room;
    CELLAR_RETURN_IF_ERROR(StartFromProbe());
  }
  if (mode_ == Mode::kRaw) return AppendRaw(data, len);
  CELLAR_RETURN_IF_ERROR(Compress(data, len, ZSTD_e_continue));
  if (size_ >= next_ratio_check_) {
    next_ratio_check_ = size_ + kRatioCheckInterval;
    const uint64_t produced = file_size_ + buf_len_ - kBlobHeaderSize;
    // zstd holds back at most about one block, so this errs towards keeping
    // compression; Finish() makes the exact decision.
    if (!SavesTenPercent(produced, size_)) {
      CELLAR_RETURN_IF_ERROR(Compress(nullptr, 0, ZSTD_e_end));
      return RewriteAsRaw();
    }
  }
  return Status::Ok();
}

size_t FsBlobWriter::ProbeSize() const { return buf_ ? buf_len_ - kBlobHeaderSize : 0; }

Result<bool> FsBlobWriter::CompressProbe() {
  CELLAR_ASSIGN_OR_RETURN(cctx_, ctx_->zstd_contexts.Acquire(ctx_->options.zstd_level));
  // The probe's compressed form goes to a second buffer and replaces the
  // probe only if it proves worth keeping. The buffer has room for
  // ZSTD_compressBound(probe), so running out of it means compression does
  // not pay.
  BufferPool<uint8_t>::Buffer packed = ctx_->write_buffers->Acquire();
  const auto header = Header(BlobFormat::kZstd, 0);
  std::memcpy(packed.get(), header.data(), header.size());
  size_t packed_len = header.size();
  const size_t probe_size = ProbeSize();
  ZSTD_inBuffer in{buf_.get() + kBlobHeaderSize, probe_size, 0};
  for (;;) {
    ZSTD_outBuffer out{packed.get() + packed_len, buf_cap_ - packed_len, 0};
    // Flush rather than end the frame, even when the probe is the whole
    // blob: Finish() ends it, and the few bytes of end marker do not change
    // the decision.
    const size_t remaining = ZSTD_compressStream2(cctx_.get(), &out, &in, ZSTD_e_flush);
    if (ZSTD_isError(remaining)) {
      return Status::Internal(std::string("zstd compress: ") + ZSTD_getErrorName(remaining));
    }
    packed_len += out.pos;
    if (remaining == 0) break;
    if (packed_len == buf_cap_) return false;
  }
  if (!SavesTenPercent(packed_len - kBlobHeaderSize, probe_size)) return false;
  buf_ = std::move(packed);
  buf_len_ = packed_len;
  return true;
}

Status FsBlobWriter::StartFromProbe() {
  const FsBlobStore::Options& options = ctx_->options;
  const std::span<const uint8_t> probe(buf_ ? buf_.get() + kBlobHeaderSize : nullptr, ProbeSize());
  bool compress = options.compress && probe.size() >= options.min_compress_size &&
                  !LooksIncompressible(probe);
  if (compress) {
    CELLAR_ASSIGN_OR_RETURN(compress, CompressProbe());
  }
  if (compress) {
    mode_ = Mode::kZstd;
    next_ratio_check_ = size_ + kRatioCheckInterval;
    return Status::Ok();
  }
  cctx_.reset();
  EnsureBuffer();  // an empty blob has none yet
  StartRaw();
  return Status::Ok();
}

void FsBlobWriter::StartRaw() {
  mode_ = Mode::kRaw;
  const auto header = Header(BlobFormat::kRaw, 0);
  std::memcpy(buf_.get(), header.data(), header.size());
}

Status FsBlobWriter::AppendRaw(const uint8_t* data, size_t len) {
  // Big chunks go straight to the file: copying them through the buffer
  // would cost a pass over the bytes and save no system call.
  constexpr size_t kDirectWrite = 64 * 1024;
  if (len < kDirectWrite && buf_len_ + len <= buf_cap_) {
    std::memcpy(buf_.get() + buf_len_, data, len);
    buf_len_ += len;
    return Status::Ok();
  }
  CELLAR_RETURN_IF_ERROR(FlushBuffer());
  if (len < kDirectWrite) {
    std::memcpy(buf_.get(), data, len);
    buf_len_ = len;
    return Status::Ok();
  }
  CELLAR_RETURN_IF_ERROR(WriteAll(tmp_fd_.get(), data, len, ctx_->faults(), tmp_path_));
  file_size_ += len;
  StartWriteback();
  return Status::Ok();
}

void FsBlobWriter::StartWriteback() {
  // Start writing dirty pages while the rest of the body is still arriving,
  // so the fsync in Commit() waits for a tail instead of the whole blob.
  constexpr uint64_t kWritebackChunk = 4 << 20;
  if (file_size_ - writeback_offset_ < kWritebackChunk) return;
  (void)::sync_file_range(tmp_fd_.get(), static_cast<off_t>(writeback_offset_),
                          static_cast<off_t>(file_size_ - writeback_offset_), SYNC_FILE_RANGE_WRITE);
  writeback_offset_ = file_size_;
}

Status FsBlobWriter::Compress(const uint8_t* data, size_t len, ZSTD_EndDirective directive) {
  ZSTD_inBuffer in{data, len, 0};
  for (;;) {
    if (buf_cap_ - buf_len_ < ZSTD_CStreamOutSize()) CELLAR_RETURN_IF_ERROR(FlushBuffer());
    ZSTD_outBuffer out{buf_.get() + buf_len_, buf_cap_ - buf_len_, 0};
    const size_t remaining = ZSTD_compressStream2(cctx_.get(), &out, &in, directive);
    if (ZSTD_isError(remaining)) {
      return Status::Internal(std::string("zstd compress: ") + ZSTD_getErrorName(remaining));
    }
    buf_len_ += out.pos;
    const bool done = directive == ZSTD_e_continue ? in.pos == in.size : remaining == 0;
    if (done) return Status::Ok();
  }
}

Status FsBlobWriter::RewriteAsRaw() {
  CELLAR_RETURN_IF_ERROR(FlushBuffer());
  cctx_.reset();
  // The reader keeps the compressed file open, so its name can go right away
  // and the temp bookkeeping only ever tracks one file.
  const BlobFileInfo info{BlobFileHeader{BlobFormat::kZstd, size_, true}, file_size_};
  std::unique_ptr<BlobReader> reader =
      MakeBlobReader(std::move(tmp_fd_), info, tmp_path_ + " (compressed draft)");
  DiscardTemp();
  file_size_ = 0;
  buf_len_ = kBlobHeaderSize;
  StartRaw();
  for (;;) {
    if (buf_len_ == buf_cap_) CELLAR_RETURN_IF_ERROR(FlushBuffer());
    CELLAR_ASSIGN_OR_RETURN(
        size_t n, reader->Read(std::span<std::byte>(
                      reinterpret_cast<std::byte*>(buf_.get() + buf_len_), buf_cap_ - buf_len_)));
    if (n == 0) return Status::Ok();
    buf_len_ += n;
  }
}

Status FsBlobWriter::Finish() {
  if (mode_ == Mode::kProbing) CELLAR_RETURN_IF_ERROR(StartFromProbe());
  BlobFormat format = BlobFormat::kRaw;
  if (mode_ == Mode::kZstd) {
    CELLAR_RETURN_IF_ERROR(Compress(nullptr, 0, ZSTD_e_end));
    if (SavesTenPercent(file_size_ + buf_len_ - kBlobHeaderSize, size_)) {
      format = BlobFormat::kZstd;
    } else {
      CELLAR_RETURN_IF_ERROR(RewriteAsRaw());
    }
  }
  CELLAR_RETURN_IF_ERROR(FlushBuffer());
  const auto header = Header(format, size_);
  return PwriteAll(tmp_fd_.get(), header.data(), header.size(), 0, ctx_->faults(), tmp_path_);
}

Result<BlobInfo> FsBlobWriter::Commit(const std::optional<Digest>& expected) {
  if (mode_ == Mode::kFailed) return failure_;
  if (mode_ == Mode::kDone) return Status::Internal("BlobWriter::Commit called twice");
  Digest digest{hasher_.Finalize()};
  if (expected.has_value() && *expected != digest) {
    return Fail(Status::Corruption("blob content hashes to " + digest.Hex() + ", expected " +
                                   expected->Hex()));
  }
  Result<BlobInfo> info = Install(digest);
  if (!info.ok()) return Fail(info.error());
  mode_ = Mode::kDone;
  return info;
}

Result<BlobInfo> FsBlobWriter::Install(const Digest& digest) {
  const std::string final_path = ctx_->BlobPath(digest);
  if (mode_ == Mode::kProbing) {
    // Nothing is on disk yet, so a duplicate small blob costs no writes.
    CELLAR_ASSIGN_OR_RETURN(std::optional<BlobInfo> existing, ExistingBlob(digest));
    if (existing.has_value()) return *existing;
  }
  CELLAR_RETURN_IF_ERROR(Finish());
  CELLAR_RETURN_IF_ERROR(SyncFd(tmp_fd_.get(), ctx_->faults(), tmp_path_));

  const std::string fanout = ctx_->FanoutDir(digest);
  bool created = false;
  CELLAR_RETURN_IF_ERROR(MakeDir(fanout, &created));
  const bool sync_dirs = ctx_->options.sync_directories;
  if (created && sync_dirs) CELLAR_RETURN_IF_ERROR(SyncDir(ctx_->blobs_dir, ctx_->faults()));

  const BlobInfo info{digest, size_, file_size_, mode_ == Mode::kZstd};
  if (::renameat2(AT_FDCWD, tmp_path_.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) !=
      0) {
    const int err = errno;
    if (err == EEXIST) {
      CELLAR_ASSIGN_OR_RETURN(std::optional<BlobInfo> existing, ExistingBlob(digest));
      if (existing.has_value()) {
        DiscardTemp();  // dedupe: the same bytes are already in place
        return *existing;
      }
    } else if (err != EINVAL && err != ENOSYS) {
      return Status::FromErrno(err, "rename " + tmp_path_ + " to " + final_path);
    }
    // The file system lacks RENAME_NOREPLACE, or the file in place was damaged
    // (and is now in quarantine/) and ours takes its name. Replacing a copy
    // a concurrent commit put there meanwhile is harmless (same bytes); the
    // lock keeps a concurrent scrub from quarantining our new file.
    std::lock_guard<std::mutex> lock(ctx_->rename_mu);
    if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0) {
      return Status::FromErrno(errno, "rename " + tmp_path_ + " to " + final_path);
    }
  }
  tmp_path_.clear();  // the file now lives under its final name
  tmp_fd_.Reset();
  // From here the blob is in place with fsynced content, so a failure must not
  // remove it (a concurrent duplicate commit may already rely on it); it only
  // means the name may not survive a crash.
  if (sync_dirs) CELLAR_RETURN_IF_ERROR(SyncDir(fanout, ctx_->faults()));
  return info;
}

Result<std::optional<BlobInfo>> FsBlobWriter::ExistingBlob(const Digest& digest) {
  CELLAR_ASSIGN_OR_RETURN(std::optional<JudgedFile> file, OpenJudged(*ctx_, digest));
  if (!file.has_value()) return std::optional<BlobInfo>();
  // Hashing the copy costs a read of it, which is what makes a re-upload
  // repair a damaged blob: without it the damaged copy would be kept (and
  // served) for every entry that refers to the digest.
  std::vector<std::byte> scratch(kCheckBufferSize);
  Status checked = CheckJudged(*file, digest, scratch);
  if (checked.ok()) {
    CELLAR_ASSIGN_OR_RETURN(BlobFileInfo info, ReadBlobFileInfo(file->fd.get(), file->path));
    return std::optional<BlobInfo>(
        BlobInfo{digest, info.header.size, info.file_size, info.header.format == BlobFormat::kZstd});
  }
  if (!CondemnsBlob(checked)) return checked;
  // Damaged: out of the way, so this commit takes its place.
  CELLAR_ASSIGN_OR_RETURN(bool moved, QuarantineIfUnchanged(*ctx_, digest, *file));
  (void)moved;  // false: already gone or replaced; our rename copes with both
  return std::optional<BlobInfo>();
}

size_t FsBlobWriter::BufferSize(const FsBlobStore::Options& options) {
  const size_t probe = options.probe_size;
  return std::max(
      {kWriteBufferSize, kBlobHeaderSize + ZSTD_compressBound(probe), kBlobHeaderSize + probe});
}

void FsBlobWriter::EnsureBuffer() {
  if (buf_) return;
  buf_ = ctx_->write_buffers->Acquire();
  buf_cap_ = ctx_->write_buffers->buffer_size();
  buf_len_ = kBlobHeaderSize;  // the probe sits where a raw payload would
}

Status FsBlobWriter::FlushBuffer() {
  if (buf_len_ == 0) return Status::Ok();
  if (!tmp_fd_.valid()) CELLAR_RETURN_IF_ERROR(CreateTemp());
  CELLAR_RETURN_IF_ERROR(WriteAll(tmp_fd_.get(), buf_.get(), buf_len_, ctx_->faults(), tmp_path_));
  file_size_ += buf_len_;
  buf_len_ = 0;
  StartWriteback();
  return Status::Ok();
}

Status FsBlobWriter::CreateTemp() {
  std::string path = ctx_->tmp_dir + '/' + std::to_string(::getpid()) + '-' +
                     std::to_string(ctx_->next_tmp_id.fetch_add(1)) + ".tmp";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "create " + path);
  tmp_fd_ = UniqueFd(fd);
  tmp_path_ = std::move(path);
  return Status::Ok();
}

void FsBlobWriter::DiscardTemp() {
  tmp_fd_.Reset();
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
  tmp_path_.clear();
}

Status FsBlobWriter::Fail(Status status) {
  DiscardTemp();
  cctx_.reset();
  buf_.reset();
  buf_len_ = 0;
  mode_ = Mode::kFailed;
  failure_ = status;
  return status;
}

}  // namespace cellar::store
