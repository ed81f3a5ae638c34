// S3SharedEntries: index::SharedEntries as one small object per entry in an
// S3-compatible bucket, beside the blobs of S3BlobStore:
//
//   <prefix>entries/<namespace, escaped>/<blake3 hex of the key>
//
// holding JSON: {"v":1,"ns","key","digest","size","content_type",
// "created_ms","attributes"}. The key is hashed so any key (npm scopes with
// '@' and '/', Go module paths, '%', 1000-byte keys) makes a short, safe
// object name; the body repeats ns and key and Find() checks them. The
// namespace stays readable (bytes outside [A-Za-z0-9._-] as %XX) so one
// namespace can be listed or removed with ordinary S3 tools. Format and
// rules: docs/tiered-storage.md.
//
// Thread-safety: as SharedEntries. The client must outlive this object.
#pragma once

#include <string>

#include "index/shared_entries.h"
#include "store/s3/s3_client.h"

namespace cellar::index {

class S3SharedEntries final : public SharedEntries {
 public:
  // `prefix` as S3BlobStoreOptions::prefix ("" or "team/cache").
  S3SharedEntries(s3::S3Client& client, std::string prefix);

  Status Publish(const Entry& entry, PutMode mode) override;
  Result<std::optional<Entry>> Find(const std::string& ns, const std::string& key) override;
  bool PublishRefusesTakenKeys() const override { return true; }  // If-None-Match: *
  Status Withdraw(const std::string& ns, const std::string& key) override;

  // The object key of (ns, key).
  std::string ObjectKey(const std::string& ns, const std::string& key) const;

 private:
  s3::S3Client& client_;
  const std::string entries_prefix_;  // "<prefix>entries/"
};

// The manifest body of `entry`, and back. Parse fails with kCorruption on
// anything but a well-formed manifest.
std::string EncodeManifest(const Entry& entry);
Result<Entry> DecodeManifest(std::string_view body);

}  // namespace cellar::index
