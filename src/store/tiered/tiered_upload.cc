// TieredBlobStore with asynchronous uploads (Options::outbox): the writer
// that records a blob for upload, and the drainer's handler that uploads it.
// See docs/tiered-storage.md, "Asynchronous uploads".
#include <utility>
#include <vector>

#include "store/tiered/tiered_blob_store.h"

namespace cellar::store {

namespace {

using outbox::Outcome;

// Writes the local tier only; Commit() records the blob in the outbox once
// the local copy is durable.
class OutboxBlobWriter final : public BlobWriter {
 public:
  OutboxBlobWriter(std::unique_ptr<BlobWriter> local, outbox::Outbox& outbox)
      : local_(std::move(local)), outbox_(outbox) {}

  Status Write(std::span<const std::byte> data) override { return local_->Write(data); }
  uint64_t bytes_written() const override { return local_->bytes_written(); }

  Result<BlobInfo> Commit(const std::optional<Digest>& expected) override {
    CELLAR_ASSIGN_OR_RETURN(BlobInfo info, local_->Commit(expected));
    // Every commit gets its record, even of a blob the remote may hold
    // already: finding out costs a request, which the drainer makes anyway.
    outbox::Record record;
    record.kind = std::string(TieredBlobStore::kBlobRecordKind);
    record.subject = outbox::BlobSubject(info.digest);
    record.payload = info.digest.Hex();
    Status recorded = outbox_.Append(std::move(record));
    if (!recorded.ok()) return recorded.WithContext("recording blob " + info.digest.Hex() + " for upload");
    return info;
  }

 private:
  std::unique_ptr<BlobWriter> local_;
  outbox::Outbox& outbox_;
};

// Copies the local copy of `digest` to the remote tier.
Outcome Upload(BlobStore& local, BlobStore& remote, const Digest& digest) {
  const std::string name = "blob " + digest.Hex();
  auto lost_damaged = [&](const Status& why) {
    // The local copy is the only one and it is bad: take it out of service
    // (quarantine), so it is never served either.
    (void)local.ReportCorrupt(digest);
    return Outcome::Lost(why.WithContext("the local copy of " + name + " is damaged"));
  };
  Result<std::optional<std::unique_ptr<BlobReader>>> opened = local.Open(digest);
  if (!opened.ok()) return Outcome::Retry(opened.error().WithContext("opening the local copy of " + name));
  if (!opened->has_value()) return Outcome::Lost(Status::NotFound("the local copy of " + name + " is gone"));
  BlobReader& reader = ***opened;
  Result<std::unique_ptr<BlobWriter>> writer = remote.NewWriter();
  if (!writer.ok()) return Outcome::Retry(RemoteTierError(writer.error(), "starting the upload of " + name));
  std::vector<std::byte> buf(256 * 1024);
  for (;;) {
    Result<size_t> n = reader.Read(buf);
    if (!n.ok()) {
      if (n.error().code() == Code::kCorruption) return lost_damaged(n.error());
      return Outcome::Retry(n.error().WithContext("reading the local copy of " + name));
    }
    if (*n == 0) break;
    // The remote writer spools to local disk: its errors are local ones.
    Status written = (*writer)->Write(std::span<const std::byte>(buf.data(), *n));
    if (!written.ok()) return Outcome::Retry(written.WithContext("spooling " + name + " for upload"));
  }
  Result<BlobInfo> committed = (*writer)->Commit(digest);
  if (!committed.ok()) {
    if (committed.error().code() == Code::kCorruption) return lost_damaged(committed.error());
    return Outcome::Retry(RemoteTierError(committed.error(), "uploading " + name + " to the remote tier"));
  }
  return Outcome::Done();
}

}  // namespace

std::unique_ptr<BlobWriter> NewOutboxWriter(std::unique_ptr<BlobWriter> local, outbox::Outbox& outbox) {
  return std::make_unique<OutboxBlobWriter>(std::move(local), outbox);
}

Outcome TieredBlobStore::DrainBlobRecord(const outbox::Record& record) {
  Result<Digest> digest = Digest::FromHex(record.payload);
  if (!digest.ok()) return Outcome::Lost(Status::Corruption("a blob record names no digest: " + record.payload));
  const std::string name = "blob " + digest->Hex();
  // One HEAD first: a blob the bucket holds already (another node stored
  // it, or this record is drained a second time after a crash) is not read
  // and spooled again.
  Result<std::optional<BlobInfo>> in_remote = remote_.Stat(*digest);
  if (!in_remote.ok()) return Outcome::Retry(RemoteTierError(in_remote.error(), "stat of " + name + " in the remote tier"));
  Result<std::optional<BlobInfo>> in_local = local_.Stat(*digest);
  if (!in_local.ok()) return Outcome::Retry(in_local.error().WithContext("stat of the local copy of " + name));
  if (in_remote->has_value()) {
    // The same size is the same bytes (the name is their digest); another
    // size is a damaged object, replaced from the local copy when there is one.
    if (!in_local->has_value() || (*in_remote)->size == (*in_local)->size) return Outcome::Done();
  }
  if (!in_local->has_value()) {
    return Outcome::Lost(Status::NotFound("the local copy of " + name + " is gone and the remote tier does not have it"));
  }
  return Upload(local_, remote_, *digest);
}

}  // namespace cellar::store
