// TieredBlobStore: a BlobStore made of two others, a local tier (the data
// dir's FsBlobStore, whose hits go out with sendfile) and a remote tier (an
// S3BlobStore shared by every node on the bucket). `cellar serve --storage
// s3` stores blobs through it; CacheService sees one ordinary BlobStore.
// The rules and their reasons are in docs/tiered-storage.md; in short:
//  - Open/Stat look in the local tier first. A local miss reads the blob
//    through from the remote: one download per digest however many callers
//    ask at once, checked against the digest, committed to the local tier
//    and then served from the local copy. Stat of a local miss asks the
//    remote (no download).
//  - Commit() writes through: the remote holds the blob before Commit()
//    returns success, then the local tier does. A remote that already holds
//    the blob is not sent it again (the remote's own dedupe).
//    With Options::outbox (`--s3-upload=async`), Commit() instead stores
//    the blob in the local tier and appends an "upload blob" record to the
//    outbox; DrainBlobRecord() uploads it later (an OutboxDrainer calls it).
//    Until then the blob is Pinned(): Remove() refuses it, so eviction and
//    GC cannot delete the only copy.
//  - Remote failures are kUnavailable (never kCorruption, which callers
//    answer by dropping the blob): a local hit still works, an Open that
//    needs the remote fails, and CacheService keeps the entry and answers a
//    miss (the build-cache adapters turn any lookup error into 404). A
//    remote object whose bytes do not match its digest is kCorruption and is
//    never committed locally.
//  - Remove() frees the local tier only (eviction is about this node's
//    disk; other nodes may still use the remote copy), unless
//    Options::remove_from_remote. ForEach() lists the local tier (what
//    eviction, orphan adoption and scrub walk). ReportCorrupt() checks both.
//
// Thread-safety: as BlobStore. Calls that reach the remote block on the
// network: run them on worker threads. Both tiers must outlive this store
// and the readers and writers it returns.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "metrics/metrics.h"
#include "store/blob_store.h"
#include "store/outbox/outbox.h"
#include "store/outbox/outbox_drainer.h"

namespace cellar::store {

class TieredBlobStore final : public BlobStore {
 public:
  struct Options {
    // Remove() deletes the remote copy too (tools that really delete;
    // never eviction, see the header comment).
    bool remove_from_remote = false;
    // Counts Open()s by where the bytes came from, label `source`: local
    // (a local-tier hit), remote (read through from the remote), absent
    // (in neither), remote_error (the remote could not answer). Optional;
    // must outlive the store.
    metrics::Family<metrics::Counter>* reads = nullptr;
    // Asynchronous uploads: commits go to the local tier and this outbox;
    // null: write-through. Must outlive the store.
    outbox::Outbox* outbox = nullptr;
  };

  // The outbox record kind of blob uploads.
  static constexpr std::string_view kBlobRecordKind = "blob";

  TieredBlobStore(BlobStore& local, BlobStore& remote, Options options);
  TieredBlobStore(BlobStore& local, BlobStore& remote) : TieredBlobStore(local, remote, Options{}) {}
  ~TieredBlobStore() override;

  // Writers tee every byte to a local and a remote writer. Commit(): remote
  // first (failure: kUnavailable, or kCorruption for a digest mismatch, and
  // the local tier keeps nothing), then local (failure: the local tier's
  // error; the remote copy stays, harmless under its content name). Returns
  // the local tier's BlobInfo, whose stored_size is what this node's disk
  // holds.
  // With an outbox, writers write the local tier only; Commit() commits it
  // and appends a blob record (failure: the outbox's error, such as
  // kResourceExhausted; the local copy is then an unreferenced blob).
  Result<std::unique_ptr<BlobWriter>> NewWriter() override;
  // Local hit: the local reader (RawFile() works). Local miss: reads through
  // (see above); nullopt when the remote has no such blob either;
  // kUnavailable when the remote cannot answer; kCorruption when its object
  // holds other bytes (nothing is stored locally).
  Result<std::optional<std::unique_ptr<BlobReader>>> Open(const Digest& digest) override;
  // Local first, then the remote's answer (kUnavailable when it has none).
  Result<std::optional<BlobInfo>> Stat(const Digest& digest) override;
  // kUnavailable, removing nothing, while the blob is Pinned().
  Status Remove(const Digest& digest) override;
  // Both tiers check their copy; the first error is returned.
  Status ReportCorrupt(const Digest& digest) override;
  // The local tier's blobs.
  Status ForEach(const std::function<void(const BlobInfo&)>& fn) override;
  // With an outbox: true while a record to upload `digest` is pending.
  bool Pinned(const Digest& digest) override;

  // The OutboxDrainer handler of blob records: done when the remote holds
  // the blob (a HEAD; uploaded from the local copy when it does not); retry
  // when the remote fails; lost when the local copy is gone or damaged and
  // the remote does not have the blob (the damaged copy is reported, so it
  // is quarantined). Blocks on the network.
  outbox::Outcome DrainBlobRecord(const outbox::Record& record);

  // Callers waiting for another caller's download of `digest`.
  int WaitersForTest(const Digest& digest) const;

 private:
  struct Flight;
  // Downloads `digest` from the remote into the local tier. Returns false
  // when the remote has no such blob.
  Result<bool> Fill(const Digest& digest);
  // Fill() once per digest at a time: a caller that finds a download in
  // progress waits for it and shares its outcome.
  Result<bool> FillOnce(const Digest& digest);

  BlobStore& local_;
  BlobStore& remote_;
  const Options options_;

  mutable std::mutex mu_;
  // Downloads in progress, by digest. GUARDED_BY(mu_).
  std::map<Digest, std::shared_ptr<Flight>> flights_;
};

// A writer of `local` whose Commit() appends a blob record to `outbox`
// (TieredBlobStore with asynchronous uploads; tiered_upload.cc).
std::unique_ptr<BlobWriter> NewOutboxWriter(std::unique_ptr<BlobWriter> local, outbox::Outbox& outbox);

// A remote tier's failure as TieredBlobStore reports it: kCorruption stays
// (the bytes are wrong), everything else becomes kUnavailable with `what`
// and the original message as context.
Status RemoteTierError(const Status& status, const std::string& what);

}  // namespace cellar::store
