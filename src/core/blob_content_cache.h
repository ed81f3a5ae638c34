// BlobContentCache: the bytes of small, recently read blobs, kept in memory
// under a byte budget (LRU). A hit on a hot small blob then costs no open,
// pread or close. Blobs are immutable and named by their digest, so entries
// never go stale; removal from the store needs no invalidation because any
// entry that points at a digest again points at the same bytes.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/digest.h"
#include "store/blob_store.h"

namespace cellar::core {

class BlobContentCache {
 public:
  explicit BlobContentCache(size_t budget_bytes) : budget_(budget_bytes) {}

  std::shared_ptr<const std::string> Get(const Digest& digest);
  // Ignored when the blob alone exceeds the budget.
  void Put(const Digest& digest, std::shared_ptr<const std::string> bytes);
  size_t bytes() const;

 private:
  const size_t budget_;
  mutable std::mutex mu_;
  size_t bytes_ = 0;            // GUARDED_BY(mu_)
  std::list<Digest> lru_;       // most recent first; GUARDED_BY(mu_)
  struct Slot {
    std::shared_ptr<const std::string> bytes;
    std::list<Digest>::iterator pos;
  };
  std::unordered_map<Digest, Slot> map_;  // GUARDED_BY(mu_)
};

// A BlobReader over bytes held in memory.
class MemoryBlobReader : public store::BlobReader {
 public:
  explicit MemoryBlobReader(std::shared_ptr<const std::string> bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_->size(); }
  Result<size_t> Read(std::span<std::byte> out) override;
  std::optional<store::RawFileRange> RawFile() const override { return std::nullopt; }
  // All of the blob, for responses sent straight from memory.
  const std::shared_ptr<const std::string>& bytes() const { return bytes_; }

 private:
  std::shared_ptr<const std::string> bytes_;
  size_t pos_ = 0;
};

}  // namespace cellar::core
