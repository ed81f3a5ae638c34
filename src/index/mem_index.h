// MemIndex: an Index held in memory, for unit tests of the layers above
// (core, protocols) and as the reference the conformance suite
// (src/testing/index_conformance.h) holds SqliteIndex to. Same semantics as
// SqliteIndex, including buffered accesses that only Flush() applies and the
// order of every listing; nothing survives destruction.
// Thread-safety: all methods may be called concurrently (one mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "index/access_buffer.h"
#include "index/index.h"

namespace cellar::index {

class MemIndex final : public Index {
 public:
  // `now_ms` is the wall clock (unix epoch milliseconds) read when a blob
  // loses its last reference; empty means the system clock. It must be safe
  // to call from any thread and outlive the index.
  explicit MemIndex(std::function<int64_t()> now_ms = nullptr);

  Result<std::optional<Entry>> Get(const std::string& ns, const std::string& key) override;
  Result<PutOutcome> Put(const Entry& entry, uint64_t stored_size, PutMode mode) override;
  Status Delete(const std::string& ns, const std::string& key) override;
  Result<DeleteOutcome> DeleteIfDigest(const std::string& ns, const std::string& key,
                                       const Digest& digest) override;

  void RecordAccess(const std::string& ns, const std::string& key, int64_t now_ms) override;
  Status Flush() override;

  Result<std::vector<Entry>> LeastRecentlyUsed(size_t limit) override;
  Result<std::vector<Entry>> AccessedBefore(int64_t cutoff_ms, size_t limit) override;
  Result<std::vector<Entry>> List(const std::string& ns, const std::string& prefix,
                                  size_t limit) override;

  Result<std::vector<BlobRow>> UnreferencedBlobs(int64_t cutoff_ms, size_t limit) override;
  Result<bool> ForgetBlobIfUnreferenced(const Digest& digest) override;
  Status RecordOrphanBlob(const BlobRow& blob, int64_t now_ms) override;
  Result<bool> HasBlob(const Digest& digest) override;
  Result<std::vector<Digest>> ReferencedDigests() override;

  Result<Totals> GetTotals() override;
  Result<std::vector<NamespaceStats>> StatsByNamespace() override;
  Result<std::vector<Entry>> TopEntries(TopOrder order, size_t limit) override;

 private:
  struct Blob {
    uint64_t size = 0;
    uint64_t stored_size = 0;
    uint64_t refcount = 0;
    int64_t unreferenced_since_ms = 0;  // meaningful only while refcount == 0
  };
  using EntryKey = std::pair<std::string, std::string>;  // (ns, key)

  // REQUIRES: mu_ held; the blob exists.
  void AddRef(const Digest& digest);
  void DropRef(const Digest& digest);
  // Entries matching `keep`, least recently accessed first, up to `limit`.
  template <typename Pred>
  std::vector<Entry> OldestEntries(Pred&& keep, size_t limit);

  const std::function<int64_t()> now_ms_;
  AccessBuffer accesses_;  // never locked together with mu_

  std::mutex mu_;
  std::map<EntryKey, Entry> entries_;  // guarded by mu_
  // Every digest named by an entry has a row here whose refcount counts
  // those entries. Guarded by mu_.
  std::map<Digest, Blob> blobs_;
};

}  // namespace cellar::index
