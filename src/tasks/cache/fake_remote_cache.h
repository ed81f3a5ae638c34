// FakeRemoteCache: an in-memory RemoteCache for the task runner's tests.
// Artifacts live in a map; URLs are "fake:<hash>". A test can make the
// remote look down or read-only, fail single downloads, and read back what
// was looked up, downloaded and uploaded.
// Thread-safety: every method may be called concurrently.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tasks/cache/remote_cache.h"

namespace cellar::taskcache {

class FakeRemoteCache : public RemoteCache {
 public:
  std::vector<RemoteLookup> LookupBatch(const std::vector<std::string>& hashes) override;
  Result<std::optional<FileDigest>> Download(const RemoteArtifact& artifact, const std::string& dest_path,
                                             const std::optional<FileDigest>& expected = std::nullopt) override;
  Result<UploadOutcome> Upload(const std::string& hash, const std::string& path,
                               const std::optional<FileDigest>& digest = std::nullopt,
                               std::optional<uint64_t> duration_ms = std::nullopt) override;

  // Scripting.
  void Put(const std::string& hash, std::string bytes);
  // Every call (lookup, download, upload) fails with `status`, e.g.
  // Status::Unavailable for a server that is down. OK clears it.
  void SetDown(Status status);
  // Uploads fail with `status` (e.g. PermissionDenied for a read-only token).
  void SetUploadError(Status status);
  // The next download of `hash` fails with `status` (once).
  void FailNextDownload(const std::string& hash, Status status);

  // Inspection.
  std::optional<std::string> Get(const std::string& hash) const;
  int lookup_calls() const;                 // LookupBatch calls
  std::vector<std::string> looked_up() const;   // every hash asked, in order
  std::vector<std::string> downloaded() const;  // hashes whose download succeeded
  std::vector<std::string> uploaded() const;    // hashes uploaded (stored or skipped)
  // The duration the last upload of `hash` declared, if any.
  std::optional<uint64_t> duration_of(const std::string& hash) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> blobs_;           // GUARDED_BY(mu_)
  Status down_;                                        // GUARDED_BY(mu_)
  Status upload_error_;                                // GUARDED_BY(mu_)
  std::map<std::string, Status> fail_next_download_;   // GUARDED_BY(mu_)
  int lookup_calls_ = 0;                               // GUARDED_BY(mu_)
  std::vector<std::string> looked_up_;                 // GUARDED_BY(mu_)
  std::vector<std::string> downloaded_;                // GUARDED_BY(mu_)
  std::vector<std::string> uploaded_;                  // GUARDED_BY(mu_)
  std::map<std::string, uint64_t> durations_;          // GUARDED_BY(mu_)
};

}  // namespace cellar::taskcache
