// Names and digests shared by the task runner's two caches (local directory
// and remote negotiate client). An artifact's key is its task hash; the same
// rule as the server's blob keys, so anything the local cache accepts the
// remote accepts too, and a key can never name a path outside the cache.
// Thread-safety: pure functions and values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cellar::taskcache {

inline constexpr size_t kMaxHashLength = 128;

// 1 to 128 characters of [A-Za-z0-9_-].
bool IsValidArtifactHash(std::string_view hash);
// kInvalidArgument naming the offending hash when it is not valid.
Status CheckArtifactHash(std::string_view hash);

// Size and SHA-256 (64 lowercase hex) of an artifact file: what an upload
// declares and what a download or a local entry is checked against.
struct FileDigest {
  uint64_t size = 0;
  std::string sha256;
  bool operator==(const FileDigest&) const = default;
};

// Streams the file through SHA-256. Failures come from LocalFileError, with
// the path in the message.
Result<FileDigest> DigestFile(const std::string& path);

// A local file failure as a Status whose code never collides with the codes
// the remote cache reserves for the server's state (kUnavailable,
// kPermissionDenied, kUnauthenticated; see remote_cache.h): an unreadable
// local file must not switch the remote off.
Status LocalFileError(int err, std::string_view context);

}  // namespace cellar::taskcache
