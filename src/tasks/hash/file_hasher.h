// FileHasher: the identities of input files for the task hash, git blob ids
// (what `git hash-object` prints, so a file git's index vouches for needs no
// read: docs/task-hash.md), computed in parallel on a small set of threads
// and remembered for the hasher's lifetime, so files shared by several tasks
// of a run are read once. Files are read through a fixed-size buffer (never
// whole in memory); symlinks are never followed: their id is that of the
// target string, as git stores a link.
// Create one FileHasher per run: it assumes files do not change meanwhile.
// Thread-safety: Hash() may be called concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <unordered_map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "hash/git_blob_id.h"
#include "tasks/hash/digest_memo.h"

namespace cellar::taskhash {

enum class FileKind : uint8_t {
  kRegular = 1,
  kExecutable = 2,  // a regular file with any execute bit set
  kSymlink = 3,     // id of the link's target string
  kDirectory = 4,   // listed by git (a submodule): no content, id of ""
};

struct FileDigest {
  FileKind kind = FileKind::kRegular;
  hash::GitBlobIdBytes id{};  // git's blob id of the content
  std::string symlink_target;  // kSymlink only, for the manifest

  bool operator==(const FileDigest&) const = default;
};

struct FileHasherOptions {
  size_t threads = 0;                 // 0: one per core
  size_t buffer_bytes = size_t{64} << 10;  // read size per call
  // Digests remembered from earlier runs, consulted before reading a
  // regular file and filled after; null: read every file. Must outlive the
  // hasher.
  DigestMemo* memo = nullptr;
};

class FileHasher {
 public:
  explicit FileHasher(FileHasherOptions options = {});

  // Digests of root/paths[i], in the order of `paths`. nullopt for a path
  // that does not exist (a file deleted from the work tree but still in the
  // git index) or is neither a file, a symlink nor a directory (fifo,
  // socket). Fails on any other read error, naming the file.
  Result<std::vector<std::optional<FileDigest>>> Hash(const std::string& root,
                                                      const std::vector<std::string>& paths);

  // Like Hash(), without remembering the digests in this hasher: for a
  // caller that keeps them itself (a large run's one pass over every input,
  // where a second table of 10,000 paths costs more than it saves).
  Result<std::vector<std::optional<FileDigest>>> HashOnce(const std::string& root,
                                                          const std::vector<std::string>& paths);

  size_t threads() const { return threads_; }
  // Number of files looked at (not found in this hasher's cache) so far,
  // and how many of them the memo answered without a read.
  size_t files_read() const;
  size_t memo_hits() const { return memo_hits_.load(); }

 private:
  // Digests of absolute[i] for each i in `which`, into out[i], in parallel.
  Status HashInto(const std::vector<std::string>& absolute, const std::vector<size_t>& which,
                  std::vector<std::optional<FileDigest>>& out);
  // One file, not in cache_. `buffer` is the calling thread's read buffer.
  Result<std::optional<FileDigest>> HashOne(const std::string& path, std::vector<uint8_t>& buffer);

  const size_t threads_;
  const size_t buffer_bytes_;
  DigestMemo* const memo_;
  mutable std::mutex mu_;
  // Absolute path -> digest (nullopt: absent). GUARDED_BY(mu_)
  std::unordered_map<std::string, std::optional<FileDigest>> cache_;
  size_t files_read_ = 0;  // GUARDED_BY(mu_)
  std::atomic<size_t> memo_hits_{0};
};

// The git blob id of the file at `path`, read with `buffer_bytes` reads.
// Fails with kAborted when the file keeps changing size while it is read.
Result<hash::GitBlobIdBytes> GitBlobIdOfFile(const std::string& path, size_t buffer_bytes);

}  // namespace cellar::taskhash
