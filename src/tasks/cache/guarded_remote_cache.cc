#include "tasks/cache/guarded_remote_cache.h"

#include <unistd.h>

namespace cellar::taskcache {

GuardedRemoteCache::GuardedRemoteCache(RemoteCache& inner, Warn warn) : inner_(inner), warn_(std::move(warn)) {}

Status GuardedRemoteCache::Disabled() const {
  std::lock_guard lock(mu_);
  return off_;
}

Status GuardedRemoteCache::UploadsDisabled() const {
  std::lock_guard lock(mu_);
  return off_.ok() ? uploads_off_ : off_;
}

bool GuardedRemoteCache::enabled() const { return Disabled().ok(); }
bool GuardedRemoteCache::uploads_enabled() const { return UploadsDisabled().ok(); }

void GuardedRemoteCache::Observe(const Status& status, bool from_upload) {
  if (status.ok() || !DisablesRemote(status)) return;
  std::lock_guard lock(mu_);
  if (!off_.ok()) return;
  if (from_upload && status.code() == Code::kPermissionDenied) {
    if (!uploads_off_.ok()) return;
    uploads_off_ = status;
  } else {
    off_ = status;
  }
  if (warn_) warn_(status);  // under mu_: once per condition, never concurrently
}

std::vector<RemoteLookup> GuardedRemoteCache::LookupBatch(const std::vector<std::string>& hashes) {
  if (Status off = Disabled(); !off.ok()) return std::vector<RemoteLookup>(hashes.size(), off);
  std::vector<RemoteLookup> out = inner_.LookupBatch(hashes);
  for (const RemoteLookup& r : out) {
    if (!r.ok()) Observe(r.error(), /*from_upload=*/false);
  }
  return out;
}

Result<std::optional<FileDigest>> GuardedRemoteCache::Download(const RemoteArtifact& artifact,
                                                               const std::string& dest_path,
                                                               const std::optional<FileDigest>& expected) {
  if (Status off = Disabled(); !off.ok()) {
    ::unlink(dest_path.c_str());
    return off;
  }
  Result<std::optional<FileDigest>> result = inner_.Download(artifact, dest_path, expected);
  if (!result.ok()) Observe(result.error(), /*from_upload=*/false);
  return result;
}

Result<UploadOutcome> GuardedRemoteCache::Upload(const std::string& hash, const std::string& path,
                                                 const std::optional<FileDigest>& digest,
                                                 std::optional<uint64_t> duration_ms) {
  if (Status off = UploadsDisabled(); !off.ok()) return off;
  Result<UploadOutcome> result = inner_.Upload(hash, path, digest, duration_ms);
  if (!result.ok()) Observe(result.error(), /*from_upload=*/true);
  return result;
}

}  // namespace cellar::taskcache
