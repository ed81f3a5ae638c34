// DigestMemo: file digests remembered between runs of one checkout, keyed by
// what lstat(2) says about the file, so a run in which nothing changed reads
// no input file (git's index and ccache's manifests use the same stat check).
// FileHasher consults it before reading a file and fills it after.
//
// An entry is found by the file's device and inode and used only when its
// size, mtime, ctime and mode are also the recorded ones. No path is needed:
// at any moment a (device, inode) pair is one file, and a file that replaces
// a deleted one under a reused inode has a new ctime. ctime cannot be set by
// a user, so a file rewritten with its old mtime restored (touch -d, tar,
// rsync -t) still misses. The racy case, a file changed within one timestamp
// tick of being hashed, is closed as git closes it: an entry whose mtime or
// ctime is not safely older than the run's start is not remembered, so the
// next run reads that file again.
//
// The saved form is a sorted array of fixed-size records, mapped into memory
// and searched in place: loading it allocates nothing per file. File format
// and rules: docs/task-hash.md, "Between runs: the digest memo".
//
// Thread-safety: Find() and Remember() may be called concurrently; Load()
// and Save() may not overlap with anything else.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/file_stamp.h"
#include "base/status.h"
#include "hash/git_blob_id.h"

namespace cellar::taskhash {

using ::cellar::FileStamp;

class DigestMemo {
 public:
  // How far before the run's start a timestamp must lie for an entry to be
  // remembered: more than any file system's timestamp granularity.
  static constexpr std::chrono::seconds kRacyWindow{2};

  // An empty memo for a run started at `run_start`.
  explicit DigestMemo(std::chrono::system_clock::time_point run_start);
  ~DigestMemo();
  DigestMemo(const DigestMemo&) = delete;
  DigestMemo& operator=(const DigestMemo&) = delete;

  // Uses the memo saved at `path`. A missing, unreadable, damaged or
  // other-version file leaves the memo empty: the memo only saves work.
  void Load(const std::string& path);

  // The git blob id recorded for the file with this stamp, if any.
  std::optional<hash::GitBlobIdBytes> Find(const FileStamp& stamp) const;

  // Records the digest read from a file whose lstat gave `stamp` before the
  // read. Ignored when the stamp is too recent to be trusted.
  void Remember(const FileStamp& stamp, const hash::GitBlobIdBytes& id);

  // Writes the memo to `path` (a temporary file renamed over it) when
  // anything was remembered since Load(); a no-op otherwise.
  Status Save(const std::string& path) const;

  // Entries loaded plus entries remembered since.
  size_t size() const;

  // The on-disk record: host byte order (the memo never leaves the machine
  // that wrote it; the header's byte-order mark refuses any other).
  struct Record {
    uint64_t device;
    uint64_t inode;
    uint64_t size;
    int64_t mtime_ns;
    int64_t ctime_ns;
    uint32_t mode;
    uint32_t reserved;  // zero
    uint8_t id[hash::kGitBlobIdLen];
    uint8_t padding[4];  // zero
  };
  static_assert(sizeof(Record) == 72);

 private:
  bool Trusted(const FileStamp& stamp) const;
  const Record* FindLoaded(uint64_t device, uint64_t inode) const;
  void Unmap();

  const int64_t trusted_before_ns_;
  // The loaded memo, mapped read-only: records sorted by (device, inode).
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  const Record* loaded_ = nullptr;
  size_t loaded_count_ = 0;

  mutable std::mutex mu_;
  std::vector<Record> added_;  // GUARDED_BY(mu_): remembered this run
};

}  // namespace cellar::taskhash
