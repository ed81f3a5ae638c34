#include "store/mem_blob_store.h"

#include <algorithm>
#include <cstring>

#include "hash/blake3.h"

namespace cellar::store {
namespace {

class MemBlobReader final : public BlobReader {
 public:
  explicit MemBlobReader(std::shared_ptr<const MemBlobStore::Bytes> bytes)
      : bytes_(std::move(bytes)) {}

  uint64_t size() const override { return bytes_->size(); }
  std::optional<RawFileRange> RawFile() const override { return std::nullopt; }

  Result<size_t> Read(std::span<std::byte> out) override {
    const size_t n = std::min(out.size(), bytes_->size() - pos_);
    if (n > 0) std::memcpy(out.data(), bytes_->data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  const std::shared_ptr<const MemBlobStore::Bytes> bytes_;
  size_t pos_ = 0;
};

bool Matches(const MemBlobStore::Bytes& bytes, const Digest& digest) {
  hash::Blake3Hasher hasher;
  hasher.Update(bytes.data(), bytes.size());
  return Digest{hasher.Finalize()} == digest;
}

BlobInfo InfoOf(const Digest& digest, const MemBlobStore::Bytes& bytes) {
  return BlobInfo{digest, bytes.size(), bytes.size(), false};
}

}  // namespace

class MemBlobStore::Writer final : public BlobWriter {
 public:
  explicit Writer(std::shared_ptr<Blobs> blobs) : blobs_(std::move(blobs)) {}

  Status Write(std::span<const std::byte> data) override {
    if (done_) return Status::Internal("BlobWriter::Write after Commit");
    hasher_.Update(data.data(), data.size());
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    return Status::Ok();
  }

  uint64_t bytes_written() const override { return bytes_.size(); }

  Result<BlobInfo> Commit(const std::optional<Digest>& expected) override {
    if (done_) return Status::Internal("BlobWriter::Commit called twice");
    done_ = true;
    const Digest digest{hasher_.Finalize()};
    if (expected.has_value() && *expected != digest) {
      bytes_ = {};
      return Status::Corruption("blob content hashes to " + digest.Hex() + ", expected " +
                                expected->Hex());
    }
    auto bytes = std::make_shared<const Bytes>(std::move(bytes_));
    std::lock_guard<std::mutex> lock(blobs_->mu);
    auto [it, inserted] = blobs_->map.try_emplace(digest, bytes);
    // Dedupe: keep the existing copy, unless it was damaged.
    if (!inserted && !Matches(*it->second, digest)) it->second = bytes;
    return InfoOf(digest, *bytes);
  }

 private:
  const std::shared_ptr<Blobs> blobs_;
  hash::Blake3Hasher hasher_;
  Bytes bytes_;
  bool done_ = false;
};

MemBlobStore::MemBlobStore() : blobs_(std::make_shared<Blobs>()) {}
MemBlobStore::~MemBlobStore() = default;

Result<std::unique_ptr<BlobWriter>> MemBlobStore::NewWriter() {
  return std::unique_ptr<BlobWriter>(std::make_unique<Writer>(blobs_));
}

Result<std::optional<std::unique_ptr<BlobReader>>> MemBlobStore::Open(const Digest& digest) {
  std::shared_ptr<const Bytes> bytes;
  {
    std::lock_guard<std::mutex> lock(blobs_->mu);
    auto it = blobs_->map.find(digest);
    if (it == blobs_->map.end()) return std::optional<std::unique_ptr<BlobReader>>();
    bytes = it->second;
  }
  return std::optional<std::unique_ptr<BlobReader>>(
      std::make_unique<MemBlobReader>(std::move(bytes)));
}

Result<std::optional<BlobInfo>> MemBlobStore::Stat(const Digest& digest) {
  std::lock_guard<std::mutex> lock(blobs_->mu);
  auto it = blobs_->map.find(digest);
  if (it == blobs_->map.end()) return std::optional<BlobInfo>();
  return std::optional<BlobInfo>(InfoOf(digest, *it->second));
}

Status MemBlobStore::Remove(const Digest& digest) {
  std::shared_ptr<const Bytes> doomed;  // freed outside the lock
  std::lock_guard<std::mutex> lock(blobs_->mu);
  auto it = blobs_->map.find(digest);
  if (it != blobs_->map.end()) {
    doomed = std::move(it->second);
    blobs_->map.erase(it);
  }
  return Status::Ok();
}

Status MemBlobStore::ForEach(const std::function<void(const BlobInfo&)>& fn) {
  std::vector<BlobInfo> snapshot;
  {
    std::lock_guard<std::mutex> lock(blobs_->mu);
    snapshot.reserve(blobs_->map.size());
    for (const auto& [digest, bytes] : blobs_->map) snapshot.push_back(InfoOf(digest, *bytes));
  }
  for (const BlobInfo& info : snapshot) fn(info);
  return Status::Ok();
}

Status MemBlobStore::ReportCorrupt(const Digest& digest) {
  std::shared_ptr<const Bytes> doomed;  // freed outside the lock
  std::lock_guard<std::mutex> lock(blobs_->mu);
  auto it = blobs_->map.find(digest);
  if (it == blobs_->map.end()) return Status::Ok();
  if (!Matches(*it->second, digest)) {
    doomed = std::move(it->second);
    blobs_->map.erase(it);
  }
  return Status::Ok();
}

bool MemBlobStore::DamageForTest(const Digest& digest, size_t offset) {
  std::lock_guard<std::mutex> lock(blobs_->mu);
  auto it = blobs_->map.find(digest);
  if (it == blobs_->map.end() || offset >= it->second->size()) return false;
  auto damaged = std::make_shared<Bytes>(*it->second);
  (*damaged)[offset] ^= std::byte{0x01};
  it->second = std::move(damaged);
  return true;
}

size_t MemBlobStore::size() const {
  std::lock_guard<std::mutex> lock(blobs_->mu);
  return blobs_->map.size();
}

}  // namespace cellar::store
