#include "store/fs_blob_reader.h"

#include <sys/stat.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace cellar::store {
namespace {

class RawFileBlobReader final : public BlobReader {
 public:
  RawFileBlobReader(UniqueFd fd, uint64_t size, std::string what)
      : fd_(std::move(fd)), size_(size), what_(std::move(what)) {}

  uint64_t size() const override { return size_; }

  Result<size_t> Read(std::span<std::byte> out) override {
    if (pos_ >= size_ || out.empty()) return size_t{0};
    const size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - pos_));
    CELLAR_ASSIGN_OR_RETURN(size_t n, PreadFull(fd_.get(), out.data(), want,
                                                static_cast<off_t>(kBlobHeaderSize + pos_), what_));
    // The size was checked at open; a short read means the file shrank since.
    if (n == 0) return Status::Corruption(what_ + ": blob file truncated while reading");
    pos_ += n;
    return n;
  }

  std::optional<RawFileRange> RawFile() const override {
    return RawFileRange{fd_.get(), kBlobHeaderSize, size_};
  }

 private:
  UniqueFd fd_;
  const uint64_t size_;
  const std::string what_;
  uint64_t pos_ = 0;  // logical bytes returned so far
};

// Decompresses one zstd frame with a fixed input buffer. Anything that does
// not decode to exactly header.size bytes is kCorruption, and so is a frame
// whose checksum does not match. The last bytes of the blob are returned only
// after the frame's end (and its checksum) has been checked: callers stop
// reading at size(), so a check left for a final Read() returning 0 would
// never run, and a damaged tail would be served.
class ZstdFileBlobReader final : public BlobReader {
 public:
  ZstdFileBlobReader(UniqueFd fd, const BlobFileInfo& info, std::string what)
      : fd_(std::move(fd)),
        size_(info.header.size),
        file_size_(info.file_size),
        need_checksum_(info.header.zstd_checksum),
        what_(std::move(what)),
        dctx_(ZSTD_createDCtx()),
        in_buf_(ZSTD_DStreamInSize()) {}
  ~ZstdFileBlobReader() override { ZSTD_freeDCtx(dctx_); }

  uint64_t size() const override { return size_; }
  std::optional<RawFileRange> RawFile() const override { return std::nullopt; }

  Result<size_t> Read(std::span<std::byte> out) override {
    if (!error_.ok()) return error_;
    if (out.empty()) return size_t{0};
    Result<size_t> r = Decompress(out);
    if (!r.ok()) error_ = r.error();  // sticky: the stream state is unusable
    return r;
  }

 private:
  Result<size_t> Decompress(std::span<std::byte> out) {
    if (dctx_ == nullptr) return Status::ResourceExhausted("ZSTD_createDCtx failed");
    // Never more than the header's size: extra output is corruption, found
    // by FinishFrame().
    ZSTD_outBuffer o{out.data(), static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - produced_)),
                     0};
    while (o.pos < o.size && o.pos == 0 && !frame_done_) CELLAR_RETURN_IF_ERROR(Step(o));
    produced_ += o.pos;
    if (produced_ == size_ && !frame_done_) CELLAR_RETURN_IF_ERROR(FinishFrame());
    if (frame_done_ && produced_ != size_) return SizeMismatch(/*more=*/false);
    return o.pos;
  }

  // Decodes what follows the blob's last byte: the frame's end and checksum.
  // Any further output means the frame is longer than the header says.
  Status FinishFrame() {
    while (!frame_done_) {
      uint8_t extra;
      ZSTD_outBuffer o{&extra, 1, 0};
      CELLAR_RETURN_IF_ERROR(Step(o));
      if (o.pos > 0) return SizeMismatch(/*more=*/true);
    }
    return Status::Ok();
  }

  // One call into the decoder, refilling the input first when it is used up.
  Status Step(ZSTD_outBuffer& o) {
    if (in_.pos == in_.size) CELLAR_RETURN_IF_ERROR(Refill());
    const size_t r = ZSTD_decompressStream(dctx_, &o, &in_);
    if (ZSTD_isError(r)) return Status::Corruption(what_ + ": zstd: " + ZSTD_getErrorName(r));
    if (r == 0) {
      frame_done_ = true;
      if (in_.pos < in_.size || file_pos_ < file_size_) {
        return Status::Corruption(what_ + ": bytes after the zstd frame");
      }
    }
    return Status::Ok();
  }

  Status Refill() {
    if (file_pos_ >= file_size_) {
      return Status::Corruption(what_ + ": compressed blob ends inside its zstd frame");
    }
    const bool first = file_pos_ == kBlobHeaderSize;
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(in_buf_.size(), file_size_ - file_pos_));
    CELLAR_ASSIGN_OR_RETURN(
        size_t n, PreadFull(fd_.get(), in_buf_.data(), want, static_cast<off_t>(file_pos_), what_));
    if (n == 0) return Status::Corruption(what_ + ": blob file truncated while reading");
    file_pos_ += n;
    in_ = ZSTD_inBuffer{in_buf_.data(), n, 0};
    return first && need_checksum_ ? CheckFrameHasChecksum(n) : Status::Ok();
  }

  // A file whose header promises a checksummed frame must hold one; a
  // damaged frame header must not turn the check off. The frame starts with
  // zstd's 4-byte magic and a descriptor byte whose bit 2 says whether the
  // frame ends with a checksum (docs/blob-format.md).
  Status CheckFrameHasChecksum(size_t n) const {
    constexpr uint8_t kZstdMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    constexpr uint8_t kChecksumBit = 0x04;
    if (n < 5 || !std::equal(kZstdMagic, kZstdMagic + 4, in_buf_.begin())) {
      return Status::Corruption(what_ + ": payload is not a zstd frame");
    }
    if ((in_buf_[4] & kChecksumBit) == 0) {
      return Status::Corruption(what_ + ": zstd frame lacks the checksum its header promises");
    }
    return Status::Ok();
  }

  Status SizeMismatch(bool more) const {
    return Status::Corruption(what_ + ": zstd frame decodes to " +
                              (more ? "more than" : std::to_string(produced_) + " bytes, not") +
                              " the " + std::to_string(size_) + " bytes its header says");
  }

  UniqueFd fd_;
  const uint64_t size_;       // from the header
  const uint64_t file_size_;  // st_size at open
  const bool need_checksum_;  // the header promises a checksummed frame
  const std::string what_;
  ZSTD_DCtx* const dctx_;
  std::vector<uint8_t> in_buf_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  uint64_t file_pos_ = kBlobHeaderSize;  // next file offset to read
  uint64_t produced_ = 0;                // logical bytes returned so far
  bool frame_done_ = false;
  Status error_;
};

}  // namespace

Result<BlobFileInfo> ReadBlobFileInfo(int fd, const std::string& what) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "fstat " + what);
  uint8_t buf[kBlobHeaderSize];
  CELLAR_ASSIGN_OR_RETURN(size_t n, PreadFull(fd, buf, sizeof(buf), 0, what));
  Result<BlobFileHeader> header = DecodeBlobHeader(std::span<const uint8_t>(buf, n));
  if (!header.ok()) return header.error().WithContext(what);
  BlobFileInfo info{*header, static_cast<uint64_t>(st.st_size)};
  CELLAR_RETURN_IF_ERROR(CheckBlobFileSize(info.header, info.file_size).WithContext(what));
  return info;
}

Result<std::unique_ptr<BlobReader>> OpenBlobReader(UniqueFd fd, std::string what) {
  CELLAR_ASSIGN_OR_RETURN(BlobFileInfo info, ReadBlobFileInfo(fd.get(), what));
  return MakeBlobReader(std::move(fd), info, std::move(what));
}

std::unique_ptr<BlobReader> MakeBlobReader(UniqueFd fd, const BlobFileInfo& info,
                                           std::string what) {
  if (info.header.format == BlobFormat::kRaw) {
    return std::make_unique<RawFileBlobReader>(std::move(fd), info.header.size, std::move(what));
  }
  return std::make_unique<ZstdFileBlobReader>(std::move(fd), info, std::move(what));
}

}  // namespace cellar::store
