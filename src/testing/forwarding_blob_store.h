// ForwardingBlobStore: a store::BlobStore that passes every call to another
// one; ForwardingBlobWriter does the same for a writer. Tests derive from
// them and override one method to inject a fault (ENOSPC from a write) or
// to change what a commit reports (a compressed stored size).
// Thread-safety: as the wrapped store; overrides bring their own.
#pragma once

#include <memory>

#include "store/blob_store.h"

namespace cellar::testing {

class ForwardingBlobWriter : public store::BlobWriter {
 public:
  explicit ForwardingBlobWriter(std::unique_ptr<store::BlobWriter> base) : base_(std::move(base)) {}
  Status Write(std::span<const std::byte> data) override { return base_->Write(data); }
  uint64_t bytes_written() const override { return base_->bytes_written(); }
  Result<store::BlobInfo> Commit(const std::optional<Digest>& expected = std::nullopt) override {
    return base_->Commit(expected);
  }

 protected:
  std::unique_ptr<store::BlobWriter> base_;
};

class ForwardingBlobStore : public store::BlobStore {
 public:
  // `base` must outlive this object.
  explicit ForwardingBlobStore(store::BlobStore& base) : base_(base) {}

  Result<std::unique_ptr<store::BlobWriter>> NewWriter() override { return base_.NewWriter(); }
  Result<std::optional<std::unique_ptr<store::BlobReader>>> Open(const Digest& digest) override {
    return base_.Open(digest);
  }
  Result<std::optional<store::BlobInfo>> Stat(const Digest& digest) override { return base_.Stat(digest); }
  Status Remove(const Digest& digest) override { return base_.Remove(digest); }
  Status ReportCorrupt(const Digest& digest) override { return base_.ReportCorrupt(digest); }
  Status ForEach(const std::function<void(const store::BlobInfo&)>& fn) override { return base_.ForEach(fn); }
  bool Pinned(const Digest& digest) override { return base_.Pinned(digest); }

 protected:
  store::BlobStore& base_;
};

}  // namespace cellar::testing
