// DirectStorage: the object store behind presigned negotiate answers (the
// "vending machine"). With it, the negotiate adapter hands out URLs of the
// object store itself, so artifact bytes go between client and bucket and
// cellar only decides. The adapter only needs what is declared here; the S3
// implementation lives in server/ (s3_direct_storage.h), a fake in the
// adapter's tests. Protocol and reasons: docs/protocols/negotiate.md
// section 10, docs/s3.md section 9.
//
// Uploads go to a staging object of their own (one per negotiation, never
// shared), and the adapter's commit step reads it back, checks it and stores
// it through CacheService like any upload. Downloads are presigned GETs of
// the committed blob's object.
//
// Thread-safety: every method may be called concurrently. Methods marked
// "blocks" do network I/O: call them on a worker thread, never on an I/O
// thread. The others are pure computation.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/digest.h"
#include "base/status.h"

namespace cellar::negotiate {

// A presigned request: the URL and the headers the client must send with
// exactly these values (they are part of the signature).
struct PresignedRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
};

// A staged upload being read back. Destroying it abandons the transfer.
class StagedObject {
 public:
  virtual ~StagedObject() = default;
  // The object's size as the store reports it.
  virtual uint64_t size() const = 0;
  // Up to out.size() bytes; 0 only at the end; an error when the transfer
  // breaks or ends short.
  virtual Result<size_t> Read(std::span<std::byte> out) = 0;
};

class DirectStorage {
 public:
  virtual ~DirectStorage() = default;

  // A PUT of exactly `size` bytes (and, when set, bytes whose SHA-256 is
  // `sha256_hex`) to the staging object `staging_name` ("<ns>/<hash>/<id>"),
  // valid for `ttl` from `now_unix_s`. The store refuses any other body.
  virtual Result<PresignedRequest> PresignStagingPut(const std::string& staging_name, uint64_t size,
                                                     const std::optional<std::string>& sha256_hex,
                                                     int64_t now_unix_s, std::chrono::seconds ttl) = 0;

  // Blocks. A GET of the blob `digest` when the bucket holds it with
  // `size` bytes; nullopt when it does not (the blob is only on this
  // node's disk, or was damaged), so the caller can serve it itself.
  virtual Result<std::optional<PresignedRequest>> PresignBlobGet(const Digest& digest, uint64_t size,
                                                                 int64_t now_unix_s,
                                                                 std::chrono::seconds ttl) = 0;

  // Blocks. Opens the staging object; nullopt when it does not exist (not
  // uploaded, cut short, or already removed).
  virtual Result<std::optional<std::unique_ptr<StagedObject>>> OpenStaged(const std::string& staging_name) = 0;

  // Blocks. Removes the staging object (absent is fine).
  virtual Status RemoveStaged(const std::string& staging_name) = 0;

  // Blocks. Removes staging objects last written more than `older_than`
  // ago (uploads never committed); returns how many.
  virtual Result<int> RemoveStaleStaged(std::chrono::seconds older_than) = 0;
};

}  // namespace cellar::negotiate
