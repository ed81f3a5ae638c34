// GuardedRemoteCache: wraps a RemoteCache for one `cellar run` so a remote
// that is down or refuses the token is reported once and then left alone,
// and a token without write scope turns uploads off while downloads go on.
// After the first error that DisablesRemote() (see remote_cache.h), every
// call answers that same error at once without touching the network; after
// a kPermissionDenied from Upload, every upload does. `warn` is called once
// per condition with the error to show ("remote cache ... unreachable: ...",
// "token lacks write scope: uploads disabled"); callers report other,
// per-artifact errors themselves.
// Thread-safety: every method may be called concurrently; `warn` is called
// at most twice per object, never concurrently.
#pragma once

#include <functional>
#include <mutex>

#include "tasks/cache/remote_cache.h"

namespace cellar::taskcache {

class GuardedRemoteCache : public RemoteCache {
 public:
  using Warn = std::function<void(const Status&)>;
  // `inner` must outlive this object.
  GuardedRemoteCache(RemoteCache& inner, Warn warn);

  std::vector<RemoteLookup> LookupBatch(const std::vector<std::string>& hashes) override;
  Result<std::optional<FileDigest>> Download(const RemoteArtifact& artifact, const std::string& dest_path,
                                             const std::optional<FileDigest>& expected = std::nullopt) override;
  Result<UploadOutcome> Upload(const std::string& hash, const std::string& path,
                               const std::optional<FileDigest>& digest = std::nullopt,
                               std::optional<uint64_t> duration_ms = std::nullopt) override;

  bool enabled() const;          // false once the remote is off for this run
  bool uploads_enabled() const;  // false once uploads are off (or the remote is)

 private:
  Status Disabled() const;  // OK while the remote is on
  Status UploadsDisabled() const;
  void Observe(const Status& status, bool from_upload);

  RemoteCache& inner_;
  Warn warn_;
  mutable std::mutex mu_;
  Status off_;          // GUARDED_BY(mu_): why the remote is off; OK while on
  Status uploads_off_;  // GUARDED_BY(mu_): why uploads are off; OK while on
};

}  // namespace cellar::taskcache
