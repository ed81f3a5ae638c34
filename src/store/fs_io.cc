#include "store/fs_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace cellar::store {
namespace {

// Returns the errno the injector asks for, or 0.
int InjectedErrno(const FaultInjector* faults, FileOp op) {
  return (faults != nullptr && *faults) ? (*faults)(op) : 0;
}

std::string Context(std::string_view op, std::string_view what) {
  std::string s(op);
  s += ' ';
  s += what;
  return s;
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void UniqueFd::Reset() {
  // close(2) errors are not actionable here: every durable write is fsynced
  // (and checked) before its file is closed.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status WriteAll(int fd, const void* data, size_t len, const FaultInjector* faults,
                std::string_view what) {
  if (int err = InjectedErrno(faults, FileOp::kWrite))
    return Status::FromErrno(err, Context("write", what));
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, Context("write", what));
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status PwriteAll(int fd, const void* data, size_t len, off_t offset, const FaultInjector* faults,
                 std::string_view what) {
  if (int err = InjectedErrno(faults, FileOp::kWrite))
    return Status::FromErrno(err, Context("write", what));
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::pwrite(fd, p, len, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, Context("write", what));
    }
    p += n;
    len -= static_cast<size_t>(n);
    offset += n;
  }
  return Status::Ok();
}

Result<size_t> PreadFull(int fd, void* data, size_t len, off_t offset, std::string_view what) {
  char* p = static_cast<char*>(data);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, p + done, len - done, offset + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, Context("read", what));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status SyncFd(int fd, const FaultInjector* faults, std::string_view what) {
  if (int err = InjectedErrno(faults, FileOp::kFsync))
    return Status::FromErrno(err, Context("fsync", what));
  if (::fsync(fd) != 0) return Status::FromErrno(errno, Context("fsync", what));
  return Status::Ok();
}

Status SyncDir(const std::string& path, const FaultInjector* faults) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, Context("open", path));
  return SyncFd(fd.get(), faults, path);
}

Status MakeDir(const std::string& path, bool* created) {
  if (created != nullptr) *created = false;
  if (::mkdir(path.c_str(), 0755) == 0) {
    if (created != nullptr) *created = true;
    return Status::Ok();
  }
  if (errno != EEXIST) return Status::FromErrno(errno, Context("mkdir", path));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, Context("stat", path));
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(path + " exists and is not a directory");
  return Status::Ok();
}

Result<std::vector<std::string>> ListDir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return Status::FromErrno(errno, Context("opendir", path));
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) break;
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int err = errno;
  ::closedir(dir);
  if (err != 0) return Status::FromErrno(err, Context("readdir", path));
  return names;
}

}  // namespace cellar::store
