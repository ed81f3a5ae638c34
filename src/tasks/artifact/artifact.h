// Task artifacts: a task's outputs, its captured log and a little metadata in one tar+zstd
// file, written and restored by `cellar run` (docs/task-artifact.md).
//
// WriteArtifact packs the outputs of one package deterministically: identical outputs give
// byte-identical artifacts whatever their mtimes, owners or creation order. RestoreArtifact
// puts them back safely: an artifact that tries to leave the package, to write through a
// symlink, or that is cut short or corrupt is refused, and the caller counts a miss.
// Both stream; neither holds a whole file or artifact in memory.
// Thread-safety: free functions; concurrent calls must use different packages and files.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "glob/glob.h"
#include "hash/sha256.h"

namespace cellar::artifact {

// The artifact format this code writes and the only one it restores.
inline constexpr int kFormatVersion = 1;

struct WriteOptions {
  std::string task_id;       // e.g. "web#build"; stored in the metadata
  int64_t duration_ms = 0;   // how long the task ran; a hit reports it as time saved
  // The task's combined stdout/stderr. When log_file is set it is streamed from that file;
  // otherwise log_bytes is stored.
  std::string log_file;
  std::string_view log_bytes;
  int zstd_level = 3;
};

struct ArtifactInfo {
  uint64_t size_bytes = 0;  // of the compressed file
  std::array<uint8_t, hash::kSha256OutLen> sha256{};
  uint64_t files = 0;
  uint64_t symlinks = 0;
  uint64_t directories = 0;

  std::string Sha256Hex() const;
};

// Packs every output of `package_dir` selected by `outputs` (files, symlinks as links, and
// directories, which keeps empty ones) plus the log into `dest_file`. The artifact is written
// under a temporary name beside dest_file, fsynced and renamed, so dest_file is either absent,
// the old file or the complete new one. Errors: kNotFound (package_dir or log_file missing),
// kInvalidArgument (an output that is neither file, symlink nor directory), I/O errors.
Result<ArtifactInfo> WriteArtifact(const std::string& package_dir, const glob::PatternSet& outputs,
                                   const WriteOptions& options, const std::string& dest_file);

struct ArtifactMetadata {
  int format_version = 0;
  std::string task_id;
  int64_t duration_ms = 0;
  uint64_t log_bytes = 0;  // the stored log's full size
};

struct RestoreOptions {
  // The log is returned in memory; longer logs keep their first max_log_bytes bytes.
  size_t max_log_bytes = 8u << 20;
};

struct RestoreResult {
  ArtifactMetadata metadata;
  std::string log;
  bool log_truncated = false;
  uint64_t files_written = 0;    // created or replaced (content differed)
  uint64_t files_unchanged = 0;  // already right: left alone, timestamps kept
  uint64_t symlinks = 0;
  uint64_t directories = 0;
  uint64_t stale_removed = 0;    // outputs on disk the artifact does not hold
};

// Restores `archive_file` into `package_dir`. Every entry must lie under the outputs globs
// and inside the package; the rules are in docs/task-artifact.md section 4. On success the
// selected outputs equal the artifact's: stale outputs are removed, and files that already
// have the right content are left alone. Errors: kCorruption (bad, cut-short or
// checksum-failing artifact), kPermissionDenied (an unsafe entry), I/O errors. Files and links
// are renamed into place only after the whole artifact has been read and its checksum
// verified, so after an error none of them is visible (directories may have been created and
// outputs standing where the artifact has a directory replaced); the caller must treat the
// task as a miss and run it.
Result<RestoreResult> RestoreArtifact(const std::string& archive_file,
                                      const std::string& package_dir,
                                      const glob::PatternSet& outputs,
                                      const RestoreOptions& options = {});

// Reads only the metadata entry (the first one), e.g. to report time saved.
Result<ArtifactMetadata> ReadArtifactMetadata(const std::string& archive_file);

// Reads the metadata and the log (the first two entries) and stops: what a
// local hit needs when its outputs are known to be in place already
// (output_stamp.h). The counts of the result stay zero.
Result<RestoreResult> ReadArtifactHead(const std::string& archive_file, const RestoreOptions& options = {});

}  // namespace cellar::artifact
