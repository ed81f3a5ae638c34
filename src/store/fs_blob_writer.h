// FsBlobWriter: the BlobWriter of FsBlobStore. Streams bytes into a temp file
// under tmp/ while hashing them, then fsyncs and renames it into
// blobs/ab/<hex>. Decides raw versus zstd from an in-memory probe so that
// incompressible data (tarballs, zips) is written once, at raw speed.
// The policy and file format are described in docs/blob-format.md.
// Thread-safety: single-threaded object; may outlive the FsBlobStore.
#pragma once

#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/status.h"
#include "hash/blake3.h"
#include "store/blob_file_format.h"
#include "store/blob_store.h"
#include "store/fs_io.h"
#include "store/fs_store_context.h"
#include "store/zstd_context_pool.h"

namespace cellar::store {

class FsBlobWriter final : public BlobWriter {
 public:
  explicit FsBlobWriter(std::shared_ptr<FsStoreContext> ctx);
  ~FsBlobWriter() override;

  // A failed Write() or Commit() discards the temp file; the writer then
  // returns that failure from every later call.
  Status Write(std::span<const std::byte> data) override;
  uint64_t bytes_written() const override { return size_; }
  Result<BlobInfo> Commit(const std::optional<Digest>& expected) override;

  // Size of the write buffer for a store with `options`: room for a header
  // and a probe, compressed or not.
  static size_t BufferSize(const FsBlobStore::Options& options);

 private:
  enum class Mode {
    kProbing,  // bytes collect in buf_ after the header; nothing on disk yet
    kRaw,      // payload bytes go to the file as they are
    kZstd,     // payload is a zstd stream fed by cctx_
    kFailed,   // failure_ holds why; temp file removed
    kDone,     // committed
  };

  Status WriteInMode(const uint8_t* data, size_t len);
  size_t ProbeSize() const;  // kProbing: bytes collected so far
  // Compresses the probe and returns whether it shrank by at least 10%; if
  // so, its compressed form (after a header placeholder) replaces it in buf_.
  Result<bool> CompressProbe();
  // Leaves kProbing: for the rest of the blob (or for all of it at Commit).
  Status StartFromProbe();
  // Continues raw after the payload already in buf_ (the probe, or nothing).
  void StartRaw();
  Status AppendRaw(const uint8_t* data, size_t len);
  Status Compress(const uint8_t* data, size_t len, ZSTD_EndDirective directive);
  // Rewrites what was compressed so far as a raw file and continues raw.
  // REQUIRES: the zstd frame has been ended (ZSTD_e_end).
  Status RewriteAsRaw();
  Status Finish();  // ends the payload and writes the final header
  Result<BlobInfo> Install(const Digest& digest);
  // The blob already under `digest`'s name, if its content hashes to
  // `digest`. A damaged copy is moved to quarantine/ and reported as absent,
  // so that this commit takes its place.
  Result<std::optional<BlobInfo>> ExistingBlob(const Digest& digest);

  // Takes a write buffer, empty but for room for the header, unless one is held.
  void EnsureBuffer();
  Status FlushBuffer();
  void StartWriteback();
  Status CreateTemp();
  void DiscardTemp();
  Status Fail(Status status);

  const std::shared_ptr<FsStoreContext> ctx_;
  Mode mode_ = Mode::kProbing;
  Status failure_;  // set in kFailed
  hash::Blake3Hasher hasher_;
  uint64_t size_ = 0;              // logical bytes accepted
  ZstdContextPool::Lease cctx_;    // kZstd (and while probing)
  uint64_t next_ratio_check_ = 0;  // kZstd: logical size of the next ratio check
  // Bytes to append to the temp file; written when full. The first 16 bytes
  // of the file are a placeholder header until Finish().
  BufferPool<uint8_t>::Buffer buf_;
  size_t buf_len_ = 0;
  size_t buf_cap_ = 0;
  UniqueFd tmp_fd_;         // valid once the temp file exists
  std::string tmp_path_;    // non-empty while the temp file exists
  uint64_t file_size_ = 0;  // bytes already written to the temp file
  uint64_t writeback_offset_ = 0;  // file bytes already handed to writeback
};

}  // namespace cellar::store
