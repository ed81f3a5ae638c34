// FsBlobStore: the BlobStore on a local file system; the embedded default and
// the local tier in front of S3. Hits can be served with sendfile(2) straight
// from the blob file (see BlobReader::RawFile()).
//
// Layout under Options::root:
//   blobs/ab/<64 hex>   committed blobs, fanned out by the first two hex chars
//   tmp/                writers' temporary files; emptied by Open()
//   quarantine/<hex>    blobs that Verify() found corrupt
// Each blob file is a 16-byte header plus a raw or zstd payload; the format
// and the crash-safety argument are in docs/blob-format.md.
//
// Everything read from disk is validated: a damaged file yields kCorruption,
// never a crash. Compressed reads check zstd's checksum; raw reads do not
// re-hash content (that would defeat sendfile). Verify()/Scrub() hash every
// blob, and a commit that finds its blob already present hashes that copy.
//
// Thread-safety: all methods may be called concurrently. Readers and writers
// are single-threaded objects; both may outlive the store.
// REQUIRES: one FsBlobStore per root at a time (Open() deletes tmp/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/status.h"
#include "store/blob_store.h"
#include "store/fs_io.h"

namespace cellar::store {

struct FsStoreContext;

// A blob that failed verification.
struct BadBlob {
  Digest digest;
  std::string reason;        // e.g. "content hashes to <hex>", "bad magic number"
  bool quarantined = false;  // moved to quarantine/<hex>
};

// Called after each chunk a scrub reads, with the bytes just read; returns
// false to stop the scrub. Used to pace the background scrub.
using ReadPace = std::function<bool(uint64_t bytes_read)>;

struct BadBlob;

struct ScrubOptions {
  bool quarantine_bad = true;
  ReadPace pace;  // optional; stopping makes Scrub() fail with kAborted
  // Optional; called once per blob judged, with null when it was intact.
  std::function<void(const Digest&, const BadBlob* bad)> on_blob;
};

struct VerifyReport {
  uint64_t ok = 0;
  uint64_t bad = 0;
  std::vector<BadBlob> bad_blobs;  // one entry per bad blob
};

class FsBlobStore final : public BlobStore {
 public:
  struct Options {
    std::string root;  // created when missing
    // Store blobs zstd-compressed when that saves at least 10%.
    bool compress = true;
    int zstd_level = 3;
    // fsync the fan-out directory after each rename so the blob's name
    // survives power loss. Blob content is always fsynced before it gets its
    // name, so without this a crash can lose a name (a cache miss) but never
    // expose partial bytes.
    bool sync_directories = true;
    // Blobs smaller than this are always stored raw.
    uint64_t min_compress_size = 512;
    // How many leading bytes are compressed in memory to decide whether a
    // blob is worth compressing at all.
    size_t probe_size = 128 * 1024;
    // Test seam: consulted before every write(2) and fsync(2) a writer makes
    // (blob files and their directories); a non-zero return fails that call
    // with that errno.
    FaultInjector fault_injector_for_test;
  };

  // Creates the layout under options.root and deletes temporary files left
  // by a previous process.
  static Result<std::unique_ptr<FsBlobStore>> Open(Options options);
  ~FsBlobStore() override;

  // BlobStore. Writers do no I/O until they have a probe's worth of bytes (or
  // Commit()), so tiny blobs cost one file creation, and a duplicate tiny blob
  // none. Write/Commit failures (ENOSPC, EIO, ...) are returned as Status and
  // leave nothing behind, except that a failed directory fsync after the
  // rename leaves the complete, synced blob in place.
  Result<std::unique_ptr<BlobWriter>> NewWriter() override;
  // nullopt when absent; kCorruption when the file's header or size is bad.
  // A read that finds the file damaged fails with kCorruption and moves the
  // file to quarantine/, so the next Open() is a miss.
  Result<std::optional<std::unique_ptr<BlobReader>>> Open(const Digest& digest) override;
  // Reads only the header: size from it, stored_size from st_size.
  Result<std::optional<BlobInfo>> Stat(const Digest& digest) override;
  Status Remove(const Digest& digest) override;
  // Skips names that are not blobs (wrong fan-out dir, not 64 lowercase hex)
  // and blobs whose header is damaged (Verify() reports those).
  Status ForEach(const std::function<void(const BlobInfo&)>& fn) override;
  // Re-hashes the file and quarantines it when it is bad (as VerifyOne).
  Status ReportCorrupt(const Digest& digest) override;

  // Scrub: re-hashes every blob (decompressing), counting intact and bad
  // ones. Bad means unreadable (damaged header or payload, EIO) or hashing to
  // another digest; with `quarantine_bad` such files move to quarantine/.
  // Errors are failures of the scrub itself (e.g. EMFILE), not bad blobs.
  // Slow: reads every byte. Safe to run while the store is serving.
  Result<VerifyReport> Verify(bool quarantine_bad);
  // Verify() with pacing and per-blob progress (the background scrub).
  Result<VerifyReport> Scrub(const ScrubOptions& options);
  // The same for one blob; an absent blob yields an empty report.
  Result<VerifyReport> VerifyOne(const Digest& digest, bool quarantine_bad);

  // The file that holds (or would hold) `digest`.
  std::string BlobPath(const Digest& digest) const;
  const std::string& root() const;

  // Blob files moved to quarantine/ since Open(), for any reason (scrub,
  // ReportCorrupt, a commit that found a damaged copy of its blob).
  uint64_t quarantined_total() const;

  // zstd compression contexts created so far (each one is a compression try).
  size_t zstd_contexts_created_for_test() const;

 private:
  explicit FsBlobStore(std::shared_ptr<FsStoreContext> ctx);
  // Verifies one blob file into `report`; `scratch` is the read buffer and
  // `pace` may be null.
  Status VerifyFile(const Digest& digest, bool quarantine_bad, std::vector<std::byte>& scratch,
                    VerifyReport& report, const ReadPace* pace = nullptr);

  // Shared with writers, which may outlive the store.
  std::shared_ptr<FsStoreContext> ctx_;
};

}  // namespace cellar::store
