#include "tasks/artifact/fd.h"

#include <unistd.h>

#include <cerrno>
#include <string>

namespace cellar::artifact {

void Fd::Reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<size_t> ReadSome(int fd, void* data, size_t size, std::string_view what) {
  for (;;) {
    ssize_t n = ::read(fd, data, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return Status::FromErrno(errno, "reading " + std::string(what));
  }
}

Result<size_t> ReadFull(int fd, void* data, size_t size, std::string_view what) {
  size_t done = 0;
  while (done < size) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, ReadSome(fd, static_cast<char*>(data) + done,
                                               size - done, what));
    if (n == 0) break;
    done += n;
  }
  return done;
}

Status WriteFull(int fd, const void* data, size_t size, std::string_view what) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "writing " + std::string(what));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace cellar::artifact
