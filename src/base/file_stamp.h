// FileStamp: what lstat(2) says about a file as far as its content is
// concerned. Equal stamps mean "unchanged" to the stat checks git's index
// uses and cellar uses after it: the task runner's digest memo
// (tasks/hash/digest_memo.h) and output stamps (tasks/artifact/output_stamp.h).
// ctime is part of it because no user can set it back: a file rewritten with
// its old mtime restored still differs.
// Thread-safety: value type.
#pragma once

#include <sys/stat.h>

#include <cstdint>

namespace cellar {

struct FileStamp {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint32_t mode = 0;  // st_mode: type and permission bits

  bool operator==(const FileStamp&) const = default;
};

inline FileStamp FileStampOf(const struct stat& st) {
  FileStamp s;
  s.device = static_cast<uint64_t>(st.st_dev);
  s.inode = static_cast<uint64_t>(st.st_ino);
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  s.mode = static_cast<uint32_t>(st.st_mode);
  return s;
}

}  // namespace cellar
