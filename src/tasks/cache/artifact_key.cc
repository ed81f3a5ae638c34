#include "tasks/cache/artifact_key.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/digest.h"
#include "hash/sha256.h"

namespace cellar::taskcache {

bool IsValidArtifactHash(std::string_view hash) {
  if (hash.empty() || hash.size() > kMaxHashLength) return false;
  for (char c : hash) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status CheckArtifactHash(std::string_view hash) {
  if (IsValidArtifactHash(hash)) return Status();
  std::string shown(hash.substr(0, 40));
  if (hash.size() > 40) shown += "...";
  return Status::InvalidArgument("invalid artifact hash '" + shown +
                                 "': want 1 to 128 characters of [A-Za-z0-9_-]");
}

Status LocalFileError(int err, std::string_view context) {
  Status status = Status::FromErrno(err, context);
  switch (status.code()) {
    case Code::kUnavailable:
    case Code::kPermissionDenied:
    case Code::kUnauthenticated: return Status::Internal(status.message());
    default: return status;
  }
}

Result<FileDigest> DigestFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return LocalFileError(errno, "open " + path);
  hash::Sha256Hasher hasher;
  std::vector<std::byte> buf(1 << 16);
  FileDigest digest;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error = LocalFileError(errno, "read " + path);
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    hasher.Update(buf.data(), static_cast<size_t>(n));
    digest.size += static_cast<uint64_t>(n);
  }
  ::close(fd);
  digest.sha256 = ToHex(hasher.Finalize());
  return digest;
}

}  // namespace cellar::taskcache
