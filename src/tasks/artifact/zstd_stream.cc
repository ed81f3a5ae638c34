#include "tasks/artifact/zstd_stream.h"

#include <utility>

#include "tasks/artifact/fd.h"

#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

namespace cellar::artifact {
namespace {

// A zstd frame starts with the magic number 0xFD2FB528 (little endian) and a frame header
// descriptor byte whose bit 2 says whether the frame ends with a content checksum.
constexpr unsigned char kZstdMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};
constexpr unsigned char kChecksumFlagBit = 0x04;

}  // namespace

ZstdFileWriter::ZstdFileWriter(int fd, int level)
    : fd_(fd), cctx_(ZSTD_createCCtx()), out_(ZSTD_CStreamOutSize()) {
  if (cctx_ == nullptr) {
    init_status_ = Status::ResourceExhausted("zstd: cannot allocate a compression context");
    return;
  }
  // One thread and fixed parameters: the same tar bytes always give the same frame.
  if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1))) {
    init_status_ = Status::InvalidArgument("zstd: bad compression level " + std::to_string(level));
  }
}

ZstdFileWriter::~ZstdFileWriter() { ZSTD_freeCCtx(cctx_); }

Status ZstdFileWriter::Write(const void* data, size_t size) { return Drive(data, size, false); }

Status ZstdFileWriter::Finish() {
  CELLAR_RETURN_IF_ERROR(Drive(nullptr, 0, true));
  sha256_ = hasher_.Finalize();
  return Status::Ok();
}

Status ZstdFileWriter::Drive(const void* data, size_t size, bool end) {
  if (!init_status_.ok()) return init_status_;
  ZSTD_inBuffer in{data, size, 0};
  for (;;) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    size_t left = ZSTD_compressStream2(cctx_, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(left)) {
      init_status_ = Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(left));
      return init_status_;
    }
    if (out.pos > 0) {
      hasher_.Update(out_.data(), out.pos);
      compressed_bytes_ += out.pos;
      Status s = WriteFull(fd_, out_.data(), out.pos, "artifact");
      if (!s.ok()) {
        init_status_ = s;
        return s;
      }
    }
    bool done = end ? left == 0 : in.pos == in.size;
    if (done) return Status::Ok();
  }
}

namespace {

// One spare decompression context per thread: a context holds its window
// and block buffers (hundreds of KiB), and a full hit of 50 tasks would
// otherwise allocate, fault in and free them 50 times.
struct SpareDCtx {
  ZSTD_DCtx* dctx = nullptr;
  ~SpareDCtx() { ZSTD_freeDCtx(dctx); }
};
thread_local SpareDCtx spare_dctx;

ZSTD_DCtx* TakeDCtx() {
  ZSTD_DCtx* d = std::exchange(spare_dctx.dctx, nullptr);
  if (d == nullptr) return ZSTD_createDCtx();
  ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
  return d;
}

void ReturnDCtx(ZSTD_DCtx* d) {
  if (d == nullptr) return;
  if (spare_dctx.dctx == nullptr) {
    spare_dctx.dctx = d;
  } else {
    ZSTD_freeDCtx(d);
  }
}

}  // namespace

ZstdFileReader::ZstdFileReader(int fd)
    : fd_(fd), dctx_(TakeDCtx()), in_(new char[kBufferBytes]), out_(new char[kBufferBytes]) {
  if (dctx_ == nullptr) {
    status_ = Status::ResourceExhausted("zstd: cannot allocate a decompression context");
  }
}

ZstdFileReader::~ZstdFileReader() { ReturnDCtx(dctx_); }

Status ZstdFileReader::Fill() {
  if (in_pos_ < in_size_ || in_eof_) return Status::Ok();
  CELLAR_ASSIGN_OR_RETURN(size_t n, ReadFull(fd_, in_.get(), kBufferBytes, "artifact"));
  in_pos_ = 0;
  in_size_ = n;
  in_eof_ = n == 0;
  return Status::Ok();
}

Result<std::span<const char>> ZstdFileReader::Read() {
  while (status_.ok()) {
    if (frame_done_) {
      // One frame only: anything after it was not written by us.
      status_ = Fill();
      if (!status_.ok()) break;
      if (!in_eof_) status_ = Status::Corruption("artifact: bytes after the zstd frame");
      if (status_.ok()) return std::span<const char>();
      break;
    }
    status_ = Fill();
    if (!status_.ok()) break;
    if (!header_checked_) {
      // The descriptor byte is the fifth; a first read() that returns fewer than five bytes
      // is only possible for a file that short (regular files fill the buffer).
      if (in_size_ < 5 || std::memcmp(in_.get(), kZstdMagic, 4) != 0) {
        status_ = Status::Corruption("artifact: not a zstd frame");
        break;
      }
      if ((static_cast<unsigned char>(in_[4]) & kChecksumFlagBit) == 0) {
        status_ = Status::Corruption("artifact: zstd frame without a content checksum");
        break;
      }
      header_checked_ = true;
    }
    if (in_eof_ && !flush_pending_) {
      status_ = Status::Corruption("artifact: truncated (zstd frame cut short)");
      break;
    }
    ZSTD_inBuffer in{in_.get(), in_size_, in_pos_};
    ZSTD_outBuffer out{out_.get(), kBufferBytes, 0};
    size_t ret = ZSTD_decompressStream(dctx_, &out, &in);
    in_pos_ = in.pos;
    // A full output buffer may leave decoded bytes inside zstd that need no more input.
    flush_pending_ = out.pos == out.size;
    if (ZSTD_isError(ret)) {
      status_ = Status::Corruption(std::string("artifact: zstd: ") + ZSTD_getErrorName(ret));
      break;
    }
    if (ret == 0) frame_done_ = true;  // checksum verified by zstd
    if (out.pos > 0) return std::span<const char>(out_.get(), out.pos);
  }
  return status_;
}

Status ZstdFileReader::Drain() {
  for (;;) {
    auto chunk = Read();
    if (!chunk.ok()) return chunk.error();
    if (chunk->empty()) return Status::Ok();
  }
}

}  // namespace cellar::artifact
