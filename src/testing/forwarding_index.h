// ForwardingIndex: an index::Index that passes every call to another one.
// Tests derive from it and override the one method they need to slow down,
// reorder or fail (a full disk, a write that lands between two steps of a
// caller), the way leveldb's tests wrap its Env.
// Thread-safety: as the wrapped index; overrides bring their own.
#pragma once

#include "index/index.h"

namespace cellar::testing {

class ForwardingIndex : public index::Index {
 public:
  // `base` must outlive this object.
  explicit ForwardingIndex(index::Index& base) : base_(base) {}

  Result<std::optional<index::Entry>> Get(const std::string& ns, const std::string& key) override {
    return base_.Get(ns, key);
  }
  Result<index::PutOutcome> Put(const index::Entry& entry, uint64_t stored_size,
                                index::PutMode mode) override {
    return base_.Put(entry, stored_size, mode);
  }
  Status Delete(const std::string& ns, const std::string& key) override { return base_.Delete(ns, key); }
  Result<index::DeleteOutcome> DeleteIfDigest(const std::string& ns, const std::string& key,
                                              const Digest& digest) override {
    return base_.DeleteIfDigest(ns, key, digest);
  }
  void RecordAccess(const std::string& ns, const std::string& key, int64_t now_ms) override {
    base_.RecordAccess(ns, key, now_ms);
  }
  Status Flush() override { return base_.Flush(); }
  Result<std::vector<index::Entry>> LeastRecentlyUsed(size_t limit) override {
    return base_.LeastRecentlyUsed(limit);
  }
  Result<std::vector<index::Entry>> AccessedBefore(int64_t cutoff_ms, size_t limit) override {
    return base_.AccessedBefore(cutoff_ms, limit);
  }
  Result<std::vector<index::Entry>> List(const std::string& ns, const std::string& prefix,
                                         size_t limit) override {
    return base_.List(ns, prefix, limit);
  }
  Result<std::vector<index::BlobRow>> UnreferencedBlobs(int64_t cutoff_ms, size_t limit) override {
    return base_.UnreferencedBlobs(cutoff_ms, limit);
  }
  Result<bool> ForgetBlobIfUnreferenced(const Digest& digest) override {
    return base_.ForgetBlobIfUnreferenced(digest);
  }
  Status RecordOrphanBlob(const index::BlobRow& blob, int64_t now_ms) override {
    return base_.RecordOrphanBlob(blob, now_ms);
  }
  Result<bool> HasBlob(const Digest& digest) override { return base_.HasBlob(digest); }
  Result<std::vector<Digest>> ReferencedDigests() override { return base_.ReferencedDigests(); }
  Result<index::Totals> GetTotals() override { return base_.GetTotals(); }
  Result<std::vector<NamespaceStats>> StatsByNamespace() override { return base_.StatsByNamespace(); }
  Result<std::vector<index::Entry>> TopEntries(TopOrder order, size_t limit) override {
    return base_.TopEntries(order, limit);
  }

 protected:
  index::Index& base_;
};

}  // namespace cellar::testing
