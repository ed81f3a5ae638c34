// Small POSIX helpers for FsBlobStore: an owning fd, full reads and writes
// that retry EINTR and short transfers, fsync of files and directories, and
// the fault-injection seam tests use to simulate a full disk or a failed sync.
// Internal to src/store. Thread-safety: free functions; UniqueFd is a value.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace cellar::store {

// Operations a test can make fail.
enum class FileOp { kWrite, kFsync };
// Returns 0 to let the operation run, or the errno it should fail with.
using FaultInjector = std::function<int(FileOp)>;

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset();

 private:
  int fd_ = -1;
};

// Writes all of [data, data+len) at the file position. `what` names the file
// in error messages. `faults` may be null.
Status WriteAll(int fd, const void* data, size_t len, const FaultInjector* faults,
                std::string_view what);
Status PwriteAll(int fd, const void* data, size_t len, off_t offset, const FaultInjector* faults,
                 std::string_view what);
// Reads up to `len` bytes at `offset`, stopping early only at end of file.
Result<size_t> PreadFull(int fd, void* data, size_t len, off_t offset, std::string_view what);

Status SyncFd(int fd, const FaultInjector* faults, std::string_view what);
// fsyncs a directory so a rename or create inside it survives a crash.
Status SyncDir(const std::string& path, const FaultInjector* faults);

// mkdir(2) that treats an existing directory as success. Returns true in
// `*created` when this call created it.
Status MakeDir(const std::string& path, bool* created = nullptr);

// Entry names in directory `path`, without "." and "..". kNotFound when the
// directory does not exist.
Result<std::vector<std::string>> ListDir(const std::string& path);

}  // namespace cellar::store
