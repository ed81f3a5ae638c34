// MemBlobStore: a BlobStore in memory, for tests of the layers above the
// store (core, protocols) and for ephemeral deployments. Honours the whole
// BlobStore contract (see src/testing/blob_store_conformance.h); blobs are
// never compressed and have no file behind them, so RawFile() is nullopt.
// Thread-safety: all methods may be called concurrently (one mutex). Readers
// share ownership of the bytes, so Remove() during a read is safe, and both
// readers and writers may outlive the store.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/digest.h"
#include "store/blob_store.h"

namespace cellar::store {

class MemBlobStore final : public BlobStore {
 public:
  using Bytes = std::vector<std::byte>;

  MemBlobStore();
  ~MemBlobStore() override;

  Result<std::unique_ptr<BlobWriter>> NewWriter() override;
  Result<std::optional<std::unique_ptr<BlobReader>>> Open(const Digest& digest) override;
  Result<std::optional<BlobInfo>> Stat(const Digest& digest) override;
  Status Remove(const Digest& digest) override;
  // Re-hashes the copy and drops it when it does not match.
  Status ReportCorrupt(const Digest& digest) override;
  // Calls `fn` on a snapshot, without the lock held, so `fn` may use the store.
  Status ForEach(const std::function<void(const BlobInfo&)>& fn) override;

  // Number of committed blobs.
  size_t size() const;

  // Flips one bit of byte `offset` of the stored copy of `digest`, as a disk
  // might. Returns false when the blob is absent or shorter.
  bool DamageForTest(const Digest& digest, size_t offset);

 private:
  class Writer;
  struct Blobs {
    mutable std::mutex mu;
    std::unordered_map<Digest, std::shared_ptr<const Bytes>> map;  // GUARDED_BY(mu)
  };
  // Shared with writers so they may outlive the store.
  std::shared_ptr<Blobs> blobs_;
};

}  // namespace cellar::store
