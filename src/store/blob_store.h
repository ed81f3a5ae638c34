// BlobStore: content-addressed storage of immutable byte strings named by
// their BLAKE3-256 digest. Used by core::CacheService; protocol adapters never
// see a BlobStore directly.
//
// Contract shared by every implementation (checked by
// src/testing/blob_store_conformance.h):
//  - A BlobWriter streams bytes into a temporary object while hashing them.
//    Nothing is visible under the final name until Commit() succeeds; a writer
//    destroyed without Commit() leaves nothing behind.
//  - Commit() of bytes that already exist is cheap and succeeds (dedupe).
//  - A BlobReader opened before Remove() keeps reading the whole blob.
//  - A reader never returns bytes other than the blob's: damage it can see
//    (FsBlobStore: zstd checksums, file sizes) fails Read() with kCorruption
//    before the blob's end is reported.
// Thread-safety: BlobStore methods may be called concurrently from any thread.
// Readers and writers are single-threaded objects.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "base/digest.h"
#include "base/status.h"

namespace cellar::store {

struct BlobInfo {
  Digest digest;
  uint64_t size = 0;         // logical (uncompressed) size in bytes
  uint64_t stored_size = 0;  // bytes the blob occupies at rest
  bool compressed = false;
};

// A byte range of an open local file holding the blob's raw bytes, usable
// with sendfile(2). Valid while the BlobReader that returned it is alive.
struct RawFileRange {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

class BlobReader {
 public:
  virtual ~BlobReader() = default;
  // Logical size of the blob.
  virtual uint64_t size() const = 0;
  // Reads up to out.size() bytes. Returns 0 only at the end of the blob.
  virtual Result<size_t> Read(std::span<std::byte> out) = 0;
  // When the blob is stored uncompressed in a local file, the range to send
  // with zero copies; nullopt otherwise (compressed, or not file-backed).
  virtual std::optional<RawFileRange> RawFile() const = 0;
};

class BlobWriter {
 public:
  // Destroying an uncommitted writer discards everything written.
  virtual ~BlobWriter() = default;
  virtual Status Write(std::span<const std::byte> data) = 0;
  virtual uint64_t bytes_written() const = 0;
  // Makes the blob durable under its digest. When `expected` is set and the
  // digest differs, fails with kCorruption and stores nothing.
  // REQUIRES: called at most once.
  virtual Result<BlobInfo> Commit(const std::optional<Digest>& expected = std::nullopt) = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  virtual Result<std::unique_ptr<BlobWriter>> NewWriter() = 0;
  // nullopt when the blob is absent.
  virtual Result<std::optional<std::unique_ptr<BlobReader>>> Open(const Digest& digest) = 0;
  virtual Result<std::optional<BlobInfo>> Stat(const Digest& digest) = 0;
  // Removing an absent blob is OK. TieredBlobStore removes only its local
  // copy (the remote tier keeps serving it); see tiered/tiered_blob_store.h.
  virtual Status Remove(const Digest& digest) = 0;
  // A caller read bytes of `digest` that were damaged or hash to another
  // digest. The store checks its own copy and, when it is bad, takes it out
  // of service (FsBlobStore moves it to quarantine/), so the blob reads as
  // absent and the next commit of the right bytes stores them again. OK when
  // the copy turns out intact or absent; errors mean the check failed.
  virtual Status ReportCorrupt(const Digest& digest) = 0;
  // Calls `fn` for every committed blob, in no particular order.
  virtual Status ForEach(const std::function<void(const BlobInfo&)>& fn) = 0;
  // True while the store itself needs its copy of `digest`, whatever its
  // callers still reference: TieredBlobStore with asynchronous uploads holds
  // a blob until it is in the remote tier (the local copy is the only one
  // until then). Callers that free space (eviction, GC) skip pinned blobs
  // and try again on a later pass; Remove() of a pinned blob fails with
  // kUnavailable. No I/O: safe to call under locks.
  virtual bool Pinned(const Digest& /*digest*/) { return false; }
};

}  // namespace cellar::store
