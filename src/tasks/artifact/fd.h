// An owning file descriptor and EINTR-safe read/write for the artifact code.
// Internal to src/tasks/artifact. Thread-safety: values.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace cellar::artifact {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// read(2) retrying EINTR; 0 at end of file.
Result<size_t> ReadSome(int fd, void* data, size_t size, std::string_view what);
// Reads exactly `size` bytes unless the file ends first; returns how many were read.
Result<size_t> ReadFull(int fd, void* data, size_t size, std::string_view what);
Status WriteFull(int fd, const void* data, size_t size, std::string_view what);

}  // namespace cellar::artifact
