#include "store/tiered/tiered_blob_store.h"

#include <utility>
#include <vector>

namespace cellar::store {
namespace {

// Tees every byte to both tiers' writers; see TieredBlobStore::NewWriter.
class TieredBlobWriter final : public BlobWriter {
 public:
  TieredBlobWriter(std::unique_ptr<BlobWriter> local, std::unique_ptr<BlobWriter> remote)
      : local_(std::move(local)), remote_(std::move(remote)) {}

  Status Write(std::span<const std::byte> data) override {
    CELLAR_RETURN_IF_ERROR(local_->Write(data));
    // The remote writer spools to local disk, so its write errors are
    // local ones (a full disk) and keep their code.
    return remote_->Write(data);
  }

  uint64_t bytes_written() const override { return local_->bytes_written(); }

  Result<BlobInfo> Commit(const std::optional<Digest>& expected) override {
    Result<BlobInfo> remote = remote_->Commit(expected);
    if (!remote.ok()) return RemoteTierError(remote.error(), "storing the blob in the remote tier");
    // Pinned to the digest the remote stored, so the tiers cannot disagree.
    return local_->Commit(remote->digest);
  }

 private:
  std::unique_ptr<BlobWriter> local_;
  std::unique_ptr<BlobWriter> remote_;
};

}  // namespace

Status RemoteTierError(const Status& status, const std::string& what) {
  if (status.code() == Code::kCorruption) return status.WithContext(what);
  return Status::Unavailable(what + ": " + status.ToString());
}

struct TieredBlobStore::Flight {
  std::condition_variable done_cv;
  bool done = false;                                          // GUARDED_BY(mu_)
  Result<bool> outcome = Status::Internal("fill not finished");  // GUARDED_BY(mu_)
  int waiters = 0;                                            // GUARDED_BY(mu_)
};

TieredBlobStore::TieredBlobStore(BlobStore& local, BlobStore& remote, Options options)
    : local_(local), remote_(remote), options_(options) {}

TieredBlobStore::~TieredBlobStore() = default;

Result<std::unique_ptr<BlobWriter>> TieredBlobStore::NewWriter() {
  CELLAR_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> local, local_.NewWriter());
  if (options_.outbox != nullptr) return NewOutboxWriter(std::move(local), *options_.outbox);
  Result<std::unique_ptr<BlobWriter>> remote = remote_.NewWriter();
  if (!remote.ok()) return RemoteTierError(remote.error(), "starting a remote-tier writer");
  return std::unique_ptr<BlobWriter>(std::make_unique<TieredBlobWriter>(std::move(local), std::move(*remote)));
}

Result<std::optional<std::unique_ptr<BlobReader>>> TieredBlobStore::Open(const Digest& digest) {
  using Out = std::optional<std::unique_ptr<BlobReader>>;
  // Twice at most: eviction may remove the freshly filled copy before it is
  // opened; a second fill of the same digest is then worth one more try.
  auto count = [this](std::string_view source) {
    if (options_.reads != nullptr) options_.reads->With({source}).Inc();
  };
  for (int attempt = 0; attempt < 2; ++attempt) {
    CELLAR_ASSIGN_OR_RETURN(Out local, local_.Open(digest));
    if (local.has_value()) {
      count(attempt == 0 ? "local" : "remote");
      return local;
    }
    auto present = FillOnce(digest);
    if (!present.ok()) {
      count("remote_error");
      return present.error();
    }
    if (!*present) {
      count("absent");
      return Out();
    }
  }
  auto last = local_.Open(digest);
  if (last.ok() && *last) count("remote");
  return last;
}

Result<bool> TieredBlobStore::FillOnce(const Digest& digest) {
  std::shared_ptr<Flight> flight;
  {
    std::unique_lock lock(mu_);
    auto it = flights_.find(digest);
    if (it != flights_.end()) {
      flight = it->second;
      ++flight->waiters;
      flight->done_cv.wait(lock, [&] { return flight->done; });
      --flight->waiters;
      return flight->outcome;
    }
    flight = std::make_shared<Flight>();
    flights_.emplace(digest, flight);
  }
  Result<bool> outcome = Fill(digest);
  {
    std::lock_guard lock(mu_);
    flight->outcome = outcome;
    flight->done = true;
    flights_.erase(digest);
  }
  flight->done_cv.notify_all();
  return outcome;
}

Result<bool> TieredBlobStore::Fill(const Digest& digest) {
  const std::string what = "reading blob " + digest.Hex() + " from the remote tier";
  Result<std::optional<std::unique_ptr<BlobReader>>> opened = remote_.Open(digest);
  if (!opened.ok()) return RemoteTierError(opened.error(), what);
  if (!opened->has_value()) return false;
  BlobReader& reader = ***opened;
  CELLAR_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, local_.NewWriter());
  std::vector<std::byte> buf(256 * 1024);
  for (;;) {
    Result<size_t> n = reader.Read(buf);
    if (!n.ok()) return RemoteTierError(n.error(), what);
    if (*n == 0) break;
    CELLAR_RETURN_IF_ERROR(writer->Write(std::span<const std::byte>(buf.data(), *n)));
  }
  // The remote reader checked the digest at its end; the local commit checks
  // again, so a remote that does not verify still cannot plant other bytes.
  Result<BlobInfo> committed = writer->Commit(digest);
  if (!committed.ok()) return committed.error().WithContext("storing blob " + digest.Hex() + " locally");
  return true;
}

Result<std::optional<BlobInfo>> TieredBlobStore::Stat(const Digest& digest) {
  CELLAR_ASSIGN_OR_RETURN(std::optional<BlobInfo> local, local_.Stat(digest));
  if (local.has_value()) return local;
  Result<std::optional<BlobInfo>> remote = remote_.Stat(digest);
  if (!remote.ok()) return RemoteTierError(remote.error(), "stat of blob " + digest.Hex() + " in the remote tier");
  return remote;
}

Status TieredBlobStore::Remove(const Digest& digest) {
  // No race with a commit that pins the blob again: the caller (CacheService)
  // never removes a blob while a commit of it may be running (its gc lock).
  if (Pinned(digest)) {
    return Status::Unavailable("blob " + digest.Hex() + " is kept until its upload to the remote tier");
  }
  CELLAR_RETURN_IF_ERROR(local_.Remove(digest));
  if (!options_.remove_from_remote) return Status::Ok();
  Status remote = remote_.Remove(digest);
  return remote.ok() ? remote : RemoteTierError(remote, "removing blob " + digest.Hex() + " from the remote tier");
}

Status TieredBlobStore::ReportCorrupt(const Digest& digest) {
  Status local = local_.ReportCorrupt(digest);
  Status remote = remote_.ReportCorrupt(digest);
  if (!local.ok()) return local;
  return remote.ok() ? remote : RemoteTierError(remote, "checking blob " + digest.Hex() + " in the remote tier");
}

Status TieredBlobStore::ForEach(const std::function<void(const BlobInfo&)>& fn) { return local_.ForEach(fn); }

bool TieredBlobStore::Pinned(const Digest& digest) {
  return options_.outbox != nullptr && options_.outbox->HasPending(outbox::BlobSubject(digest));
}

int TieredBlobStore::WaitersForTest(const Digest& digest) const {
  std::lock_guard lock(mu_);
  auto it = flights_.find(digest);
  return it == flights_.end() ? 0 : it->second->waiters;
}

}  // namespace cellar::store
