#include "tasks/hash/file_hasher.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>


namespace cellar::taskhash {
namespace {

// Hashes everything readable from `fd` in buffer-sized reads.
Status HashDescriptor(int fd, std::vector<uint8_t>& buffer, hash::GitBlobHasher& hasher) {
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n == 0) return Status::Ok();
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read");
    }
    hasher.Update(buffer.data(), static_cast<size_t>(n));
  }
}

// A git blob id states the size before the content, so the size is taken
// first and the read must come out at exactly that size; a file being
// written meanwhile is read again, a few times at most.
Result<hash::GitBlobIdBytes> HashOpenFile(const std::string& path, std::vector<uint8_t>& buffer) {
  constexpr int kAttempts = 3;
  hash::GitBlobHasher hasher;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return Status::FromErrno(errno, "cannot open " + path);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      Status status = Status::FromErrno(errno, "cannot stat " + path);
      ::close(fd);
      return status;
    }
    hasher.Begin(static_cast<uint64_t>(st.st_size));
    Status status = HashDescriptor(fd, buffer, hasher);
    ::close(fd);
    if (!status.ok()) return status.WithContext(path);
    if (hasher.content_bytes() == static_cast<uint64_t>(st.st_size)) return hasher.Finalize();
  }
  return Status::Aborted(path + " kept changing while it was hashed");
}

std::vector<std::string> Absolute(const std::string& root, const std::vector<std::string>& paths) {
  std::vector<std::string> absolute;
  absolute.reserve(paths.size());
  for (const std::string& path : paths) absolute.push_back(root + "/" + path);
  return absolute;
}

}  // namespace

Result<hash::GitBlobIdBytes> GitBlobIdOfFile(const std::string& path, size_t buffer_bytes) {
  std::vector<uint8_t> buffer(std::max<size_t>(buffer_bytes, 1));
  return HashOpenFile(path, buffer);
}

FileHasher::FileHasher(FileHasherOptions options)
    : threads_(options.threads != 0 ? options.threads
                                    : std::max(1u, std::thread::hardware_concurrency())),
      buffer_bytes_(std::max<size_t>(options.buffer_bytes, 1)),
      memo_(options.memo) {}

size_t FileHasher::files_read() const {
  std::lock_guard<std::mutex> lock(mu_);
  return files_read_;
}

Result<std::optional<FileDigest>> FileHasher::HashOne(const std::string& path,
                                                      std::vector<uint8_t>& buffer) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<FileDigest>();
    return Status::FromErrno(errno, "cannot stat " + path);
  }
  FileDigest digest;
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    if (n < 0) return Status::FromErrno(errno, "cannot read link " + path);
    // Grown between lstat and readlink: read again with room to spare.
    while (static_cast<size_t>(n) == target.size()) {
      target.resize(target.size() * 2);
      n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return Status::FromErrno(errno, "cannot read link " + path);
    }
    target.resize(static_cast<size_t>(n));
    digest.kind = FileKind::kSymlink;
    digest.id = hash::GitBlobId(std::as_bytes(std::span(target.data(), target.size())));
    digest.symlink_target = std::move(target);
    return std::optional<FileDigest>(std::move(digest));
  }
  if (S_ISDIR(st.st_mode)) {
    digest.kind = FileKind::kDirectory;
    digest.id = hash::GitBlobId({});
    return std::optional<FileDigest>(std::move(digest));
  }
  if (!S_ISREG(st.st_mode)) return std::optional<FileDigest>();
  digest.kind = (st.st_mode & 0111) != 0 ? FileKind::kExecutable : FileKind::kRegular;
  const FileStamp stamp = FileStampOf(st);
  if (memo_) {
    if (auto known = memo_->Find(stamp)) {
      memo_hits_++;
      digest.id = *known;
      return std::optional<FileDigest>(std::move(digest));
    }
  }
  Result<hash::GitBlobIdBytes> content = HashOpenFile(path, buffer);
  if (!content.ok()) {
    // Replaced by a symlink or removed since lstat: treat like a vanished file
    // only when it is really gone.
    if (content.status().IsNotFound()) return std::optional<FileDigest>();
    return content.status();
  }
  digest.id = *content;
  // Remembered under the stamp taken before the read: a change during the
  // read moves the file's mtime and ctime, so this entry never matches it.
  if (memo_) memo_->Remember(stamp, digest.id);
  return std::optional<FileDigest>(std::move(digest));
}

Result<std::vector<std::optional<FileDigest>>> FileHasher::Hash(
    const std::string& root, const std::vector<std::string>& paths) {
  const std::vector<std::string> absolute = Absolute(root, paths);

  std::vector<std::optional<FileDigest>> out(paths.size());
  std::vector<size_t> missing;  // indexes into paths not in the cache
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < paths.size(); ++i) {
      auto it = cache_.find(absolute[i]);
      if (it == cache_.end()) {
        missing.push_back(i);
      } else {
        out[i] = it->second;
      }
    }
  }

  CELLAR_RETURN_IF_ERROR(HashInto(absolute, missing, out));

  std::lock_guard<std::mutex> lock(mu_);
  files_read_ += missing.size();
  for (size_t i : missing) cache_.emplace(absolute[i], out[i]);
  return out;
}

Status FileHasher::HashInto(const std::vector<std::string>& absolute, const std::vector<size_t>& which,
                            std::vector<std::optional<FileDigest>>& out) {
  // Workers take the next file from a shared counter; the first
  // failure stops them all.
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  Status first_error;
  auto work = [&] {
    std::vector<uint8_t> buffer(buffer_bytes_);
    for (size_t k = next++; k < which.size() && !failed; k = next++) {
      size_t i = which[k];
      Result<std::optional<FileDigest>> digest = HashOne(absolute[i], buffer);
      if (!digest.ok()) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!failed.exchange(true)) first_error = digest.status();
        return;
      }
      out[i] = std::move(*digest);
    }
  };
  size_t workers = std::min(threads_, which.size());
  if (workers <= 1) {
    if (!which.empty()) work();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(workers - 1);
    for (size_t t = 1; t < workers; ++t) pool.emplace_back(work);
    work();
    for (std::thread& thread : pool) thread.join();
  }
  return failed ? first_error : Status::Ok();
}

Result<std::vector<std::optional<FileDigest>>> FileHasher::HashOnce(const std::string& root,
                                                                    const std::vector<std::string>& paths) {
  const std::vector<std::string> absolute = Absolute(root, paths);
  std::vector<size_t> all(paths.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  std::vector<std::optional<FileDigest>> out(paths.size());
  CELLAR_RETURN_IF_ERROR(HashInto(absolute, all, out));
  std::lock_guard<std::mutex> lock(mu_);
  files_read_ += paths.size();
  return out;
}

}  // namespace cellar::taskhash
