// S3BlobStore: a BlobStore in an S3-compatible bucket. Each blob is one
// object, `<prefix>blobs/<blake3 hex>`, holding the blob's bytes as they are
// (no compression, no header), so its key is its name and any S3 tool can
// read it.
//
// Writes spool to an unlinked local temporary file while hashing; Commit()
// checks the digest first, so an object only ever appears under the key its
// bytes hash to. A blob of `head_before_put_bytes` or more is looked up with
// a HEAD first and not sent again when the bucket has it; a smaller one is
// simply PUT (the same bytes under the same key), because re-sending it
// costs the store less than a request that nearly always answers 404. Blobs below
// `multipart_threshold` go up in one PUT; larger ones as a multipart upload
// with `parallel_parts` parts in flight, aborted when any part fails.
// Uploads from crashed writers are removed by AbortStaleUploads().
// Readers stream a GET and check the digest at the end: a damaged object
// fails the last Read() with kCorruption instead of reporting the end.
// See docs/s3.md.
//
// Thread-safety: as BlobStore. Every call blocks on the network: call it
// from worker threads, never from an I/O thread. The client and clock must
// outlive the store and its readers and writers; writers must not outlive
// the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "env/clock.h"
#include "store/blob_store.h"
#include "store/s3/known_blobs.h"
#include "store/s3/s3_client.h"

namespace cellar::s3 {

struct S3BlobStoreOptions {
  std::string prefix;     // "" or "team/cache" (a '/' is added)
  std::string spool_dir;  // local temporary files; "" = $TMPDIR or /tmp
  uint64_t multipart_threshold = 8ull << 20;
  uint64_t part_size = 8ull << 20;  // S3 needs >= 5 MiB for all parts but the last
  int parallel_parts = 4;
  // How long a blob this store wrote or saw stays KnownInBucket(), and how
  // many are remembered (0 = none).
  int64_t known_blob_ttl_ms = 10 * 60'000;
  size_t known_blobs_max = 100'000;
  // Smaller blobs skip the HEAD that avoids re-uploading a blob the bucket
  // holds (see the class comment); 0 = always ask.
  uint64_t head_before_put_bytes = 1ull << 20;
};

class S3BlobStore final : public store::BlobStore {
 public:
  S3BlobStore(S3Client& client, const env::Clock& clock, S3BlobStoreOptions options);

  Result<std::unique_ptr<store::BlobWriter>> NewWriter() override;
  Result<std::optional<std::unique_ptr<store::BlobReader>>> Open(const Digest& digest) override;
  Result<std::optional<store::BlobInfo>> Stat(const Digest& digest) override;
  Status Remove(const Digest& digest) override;
  // Downloads and re-hashes the object; deletes it when it does not match.
  Status ReportCorrupt(const Digest& digest) override;
  // Lists `<prefix>blobs/` page by page; keys that are not digests are skipped.
  Status ForEach(const std::function<void(const store::BlobInfo&)>& fn) override;

  // Aborts the multipart uploads under `<prefix>blobs/` started more than
  // `older_than` ago (left by writers that crashed). Returns how many.
  Result<int> AbortStaleUploads(std::chrono::seconds older_than);

  // The object key of `digest`.
  std::string KeyFor(const Digest& digest) const;

  // True when this store wrote `digest` (of `size` bytes) to the bucket, or
  // found it there, within the last known_blob_ttl_ms; false means "ask"
  // (Stat), not "absent". Never blocks.
  bool KnownInBucket(const Digest& digest, uint64_t size) { return known_.Known(digest, size); }

 private:
  class Writer;
  friend class Writer;

  // Uploads `size` bytes of spool `fd` to `key`: one PUT or multipart.
  Status Upload(int fd, uint64_t size, const std::string& key);
  Status UploadMultipart(int fd, uint64_t size, const std::string& key);

  S3Client& client_;
  const env::Clock& clock_;
  const S3BlobStoreOptions options_;
  const std::string blobs_prefix_;  // "<prefix>blobs/"
  KnownBlobs known_;
};

}  // namespace cellar::s3
