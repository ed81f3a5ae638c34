#include "tasks/cache/local_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "base/digest.h"

namespace cellar::taskcache {

namespace {

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return LocalFileError(ec.value(), "create " + dir);
  return Status();
}

// A sidecar names the artifact's inode: a sidecar left from an earlier file
// under the same name names another one. (Not the mtime as well: a file cut
// short by a crash or a truncate has a new one and must still be caught. An
// inode freed and reused for the same hash is the one case this misses; the
// size check then drops the entry, or the server refuses the wrong digest.)
struct Sidecar {
  FileDigest digest;
  std::optional<uint64_t> inode;  // absent in sidecars written before it was recorded
};

std::optional<Sidecar> ReadSidecar(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  Sidecar sidecar;
  FileDigest& digest = sidecar.digest;
  if (!(in >> digest.size >> digest.sha256) || !IsLowerHex(digest.sha256) || digest.sha256.size() != 64) {
    return std::nullopt;
  }
  uint64_t inode = 0;
  if (in >> inode) sidecar.inode = inode;
  return sidecar;
}

Status CopyFile(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return LocalFileError(errno, "open " + from);
  int out = ::open(to.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (out < 0) {
    Status error = LocalFileError(errno, "open " + to);
    ::close(in);
    return error;
  }
  std::vector<char> buf(1 << 16);
  Status status;
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) status = LocalFileError(errno, "read " + from);
      break;
    }
    for (ssize_t done = 0; done < n && status.ok();) {
      ssize_t w = ::write(out, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) status = LocalFileError(errno, "write " + to);
      else done += w;
    }
    if (!status.ok()) break;
  }
  ::close(in);
  if (::close(out) != 0 && status.ok()) status = LocalFileError(errno, "close " + to);
  return status;
}

}  // namespace

LocalCache::LocalCache(std::string dir) : dir_(std::move(dir)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

std::string LocalCache::ArtifactPath(const std::string& hash) const { return dir_ + "/" + hash + ".tar.zst"; }
std::string LocalCache::SidecarPath(const std::string& hash) const { return dir_ + "/" + hash + ".meta"; }
std::string LocalCache::TempDir() const { return dir_ + "/tmp"; }

Result<std::optional<LocalArtifact>> LocalCache::Lookup(const std::string& hash) const {
  CELLAR_RETURN_IF_ERROR(CheckArtifactHash(hash));
  LocalArtifact entry{ArtifactPath(hash), std::nullopt};
  struct stat st;
  if (::stat(entry.path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<LocalArtifact>();
    return LocalFileError(errno, "stat " + entry.path);
  }
  if (!S_ISREG(st.st_mode)) return std::optional<LocalArtifact>();
  std::optional<Sidecar> sidecar = ReadSidecar(SidecarPath(hash));
  // A sidecar naming another file describes an earlier one under this name
  // (or is about to be replaced by the inserter that just linked this one).
  if (sidecar && sidecar->inode && *sidecar->inode != static_cast<uint64_t>(st.st_ino)) sidecar.reset();
  if (sidecar) entry.digest = sidecar->digest;
  if (entry.digest && entry.digest->size != static_cast<uint64_t>(st.st_size)) {
    // Cut short (a crash before the data reached the disk): drop it.
    ::unlink(entry.path.c_str());
    ::unlink(SidecarPath(hash).c_str());
    return std::optional<LocalArtifact>();
  }
  return std::optional<LocalArtifact>(std::move(entry));
}

Result<std::string> LocalCache::NewTempFile() const {
  CELLAR_RETURN_IF_ERROR(MakeDirs(TempDir()));
  std::string path = TempDir() + "/XXXXXX.part";
  int fd = ::mkstemps(path.data(), 5);
  if (fd < 0) return LocalFileError(errno, "create a file in " + TempDir());
  ::close(fd);
  return path;
}

void LocalCache::RemoveTemp(const std::string& temp_path) { ::unlink(temp_path.c_str()); }

Status LocalCache::WriteSidecar(const std::string& hash, const FileDigest& digest, const struct stat& artifact) const {
  CELLAR_ASSIGN_OR_RETURN(std::string temp, NewTempFile());
  {
    std::ofstream out(temp, std::ios::trunc);
    out << digest.size << ' ' << digest.sha256 << ' ' << static_cast<uint64_t>(artifact.st_ino) << '\n';
    if (!out.flush()) {
      RemoveTemp(temp);
      return Status::Internal("write " + temp + " failed");
    }
  }
  if (::rename(temp.c_str(), SidecarPath(hash).c_str()) != 0) {
    Status error = LocalFileError(errno, "rename to " + SidecarPath(hash));
    RemoveTemp(temp);
    return error;
  }
  return Status();
}

Result<LocalArtifact> LocalCache::Insert(const std::string& hash, const std::string& temp_path,
                                         std::optional<FileDigest> digest) const {
  Status valid = CheckArtifactHash(hash);
  if (!valid.ok()) {
    RemoveTemp(temp_path);
    return valid;
  }
  if (!digest) {
    Result<FileDigest> computed = DigestFile(temp_path);
    if (!computed.ok()) {
      RemoveTemp(temp_path);
      return computed.error();
    }
    digest = *computed;
  }
  if (Status made = MakeDirs(dir_); !made.ok()) {
    RemoveTemp(temp_path);
    return made;
  }
  const std::string final_path = ArtifactPath(hash);
  // A leftover sidecar naming an inode is left alone: Lookup ignores it for
  // another file, and the sidecar written below replaces it. (Removing any
  // sidecar here raced with a concurrent insert that had just written its
  // own.) One from before sidecars named inodes cannot be told apart from a
  // fresh one, so it goes; no concurrent insert writes that form.
  if (std::optional<Sidecar> old = ReadSidecar(SidecarPath(hash)); old && !old->inode) {
    ::unlink(SidecarPath(hash).c_str());
  }
  std::string source = temp_path;
  // The inode the entry will have: link and rename keep it. Taken from the
  // source, not the final name, which a concurrent rename may replace.
  struct stat linked {};
  bool have_inode = ::stat(source.c_str(), &linked) == 0;
  int rc = ::link(source.c_str(), final_path.c_str());
  if (rc != 0 && errno == EXDEV) {
    // Not on the cache's file system: copy into tmp/ first, then link.
    Result<std::string> local = NewTempFile();
    Status copied = local.ok() ? CopyFile(temp_path, *local) : local.error();
    RemoveTemp(temp_path);
    if (!copied.ok()) {
      if (local.ok()) RemoveTemp(*local);
      return copied;
    }
    source = *local;
    have_inode = ::stat(source.c_str(), &linked) == 0;
    rc = ::link(source.c_str(), final_path.c_str());
  }
  if (rc != 0 && (errno == EPERM || errno == ENOTSUP || errno == EMLINK)) {
    // A file system without hard links: rename (the last writer wins there).
    rc = ::rename(source.c_str(), final_path.c_str());
  }
  const int err = errno;
  RemoveTemp(source);
  if (rc != 0 && err != EEXIST) return LocalFileError(err, "link " + final_path);
  if (rc != 0) {  // first insert wins
    CELLAR_ASSIGN_OR_RETURN(std::optional<LocalArtifact> existing, Lookup(hash));
    if (existing) return *std::move(existing);
    return Status::Aborted("cache entry " + hash + " vanished while it was being inserted");
  }
  // The entry is complete and visible; the sidecar only adds its digest.
  if (have_inode) (void)WriteSidecar(hash, *digest, linked);
  return LocalArtifact{final_path, digest};
}

void LocalCache::PruneTemps(std::chrono::seconds older_than) const {
  std::error_code ec;
  const auto cutoff = std::filesystem::file_time_type::clock::now() - older_than;
  for (auto it = std::filesystem::directory_iterator(TempDir(), ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    std::error_code stat_ec;
    if (it->last_write_time(stat_ec) < cutoff && !stat_ec) std::filesystem::remove(it->path(), stat_ec);
  }
}

Status LocalCache::Clean() const {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec) return LocalFileError(ec.value(), "remove " + dir_);
  return Status();
}

}  // namespace cellar::taskcache
