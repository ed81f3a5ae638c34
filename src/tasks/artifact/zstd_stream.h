// zstd framing for task artifacts (docs/task-artifact.md section 2).
//
// libarchive builds the tar stream; these two classes sit between it and the file. We do the
// zstd part ourselves because the libarchive of Debian 12 cannot turn on zstd's content
// checksum, and the checksum is what lets a restore tell a corrupt artifact from a good one.
// The writer also hashes and counts the compressed bytes, so the caller gets the artifact's
// size and SHA-256 without reading it again.
// Thread-safety: one object per thread.
#pragma once

#include <cstddef>
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "hash/sha256.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace cellar::artifact {

// Compresses everything passed to Write() into one zstd frame, with the content checksum on,
// and writes it to `fd`. Does not own the descriptor.
class ZstdFileWriter {
 public:
  ZstdFileWriter(int fd, int level);
  ~ZstdFileWriter();
  ZstdFileWriter(const ZstdFileWriter&) = delete;
  ZstdFileWriter& operator=(const ZstdFileWriter&) = delete;

  Status Write(const void* data, size_t size);
  // Ends the frame and flushes it. No Write() afterwards.
  Status Finish();

  uint64_t compressed_bytes() const { return compressed_bytes_; }
  // Valid after Finish().
  const std::array<uint8_t, hash::kSha256OutLen>& sha256() const { return sha256_; }

 private:
  Status Drive(const void* data, size_t size, bool end);

  int fd_;
  ZSTD_CCtx_s* cctx_;
  Status init_status_;
  std::vector<char> out_;
  hash::Sha256Hasher hasher_;
  uint64_t compressed_bytes_ = 0;
  std::array<uint8_t, hash::kSha256OutLen> sha256_{};
};

// Decompresses one zstd frame read from `fd`. Refuses a frame without a content checksum,
// a frame cut short, a checksum mismatch and bytes after the frame. Does not own the fd.
class ZstdFileReader {
 public:
  explicit ZstdFileReader(int fd);
  ~ZstdFileReader();
  ZstdFileReader(const ZstdFileReader&) = delete;
  ZstdFileReader& operator=(const ZstdFileReader&) = delete;

  // Returns the next decompressed bytes; an empty span at the end of a complete frame.
  // After an error every call returns the same error.
  Result<std::span<const char>> Read();
  // Reads (and discards) whatever is left, so the checksum at the end of the frame is checked.
  Status Drain();

 private:
  Status Fill();

  // 64 KiB each, allocated once per reader and never zero-filled: with
  // zstd's recommended 128 KiB + sizes, every artifact of a full hit paid
  // an mmap, page faults and a munmap for its buffers.
  static constexpr size_t kBufferBytes = size_t{64} << 10;

  int fd_;
  ZSTD_DCtx_s* dctx_;
  Status status_;
  std::unique_ptr<char[]> in_;
  size_t in_pos_ = 0;
  size_t in_size_ = 0;
  bool in_eof_ = false;
  bool header_checked_ = false;
  bool frame_done_ = false;
  bool flush_pending_ = false;
  std::unique_ptr<char[]> out_;
};

}  // namespace cellar::artifact
