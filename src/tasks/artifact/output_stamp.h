// OutputStamp: what a task's outputs looked like on disk when cellar last
// found them equal to an artifact, so that the next local hit of the same
// artifact can see from lstat(2) alone that nothing changed, and skip
// extracting it (the log is still read and replayed). A full local hit of a
// monorepo otherwise decompresses every artifact to compare it with the
// files already there.
//
// The check is the one git's index and the digest memo use: the set of paths
// the output globs match (files, symlinks and directories), and for each its
// device, inode, size, mode, mtime and ctime. ctime cannot be set back by a
// user, so a file rewritten with its old mtime restored still shows. A stamp
// is only written when it can be trusted: every entry's mtime and ctime lie
// more than kRacyWindow before the stamp was taken, so a change within the
// same timestamp tick cannot hide. Files just written by a restore or a task
// are therefore stamped by a later run, once they are old enough.
//
// A stamp also keeps the artifact's metadata and log (when the log is at most
// kStampedLogLimit bytes), so such a hit does not open the artifact at all: no
// decompression, and libarchive is never loaded (lazy_library.h).
// Format and rules: docs/task-artifact.md, "Intact outputs".
// Thread-safety: free functions; distinct paths may be used concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/file_stamp.h"
#include "base/status.h"
#include "glob/glob.h"
#include "tasks/artifact/artifact.h"

namespace cellar::artifact {

struct OutputEntryStamp {
  std::string path;  // relative to the package directory
  FileStamp stat;

  bool operator==(const OutputEntryStamp&) const = default;
};

struct OutputStamp {
  std::string artifact_hash;
  std::string package_dir;  // absolute
  int64_t taken_ns = 0;     // wall clock (unix ns) when the entries were read
  std::vector<OutputEntryStamp> entries;  // bytewise by path
  // The artifact's metadata and log as a restore returned them (the counts
  // are not kept); absent when the log was too long to keep here.
  std::optional<RestoreResult> head;
};

inline constexpr size_t kStampedLogLimit = 64u << 10;

inline constexpr std::chrono::seconds kOutputStampRacyWindow{2};

// The outputs as they are now: every file, symlink and directory under
// `package_dir` the globs match, lstat'ed. Fails when the package directory
// cannot be listed.
Result<std::vector<OutputEntryStamp>> ReadOutputEntries(const std::string& package_dir,
                                                        const glob::PatternSet& outputs);

// A stamp of the outputs now, or nullopt when one could not be trusted (an
// entry changed within kOutputStampRacyWindow of `now`). `restored` is what
// the restore that made the outputs equal to the artifact returned: its
// metadata and log are kept when the log is short enough.
Result<std::optional<OutputStamp>> TakeOutputStamp(const std::string& package_dir, const glob::PatternSet& outputs,
                                                   const std::string& artifact_hash,
                                                   std::chrono::system_clock::time_point now,
                                                   const RestoreResult* restored = nullptr);

// True when `stamp` is for this artifact and package, is trustworthy, and the
// outputs on disk are exactly what it recorded.
bool OutputsIntact(const OutputStamp& stamp, const std::string& package_dir, const glob::PatternSet& outputs,
                   const std::string& artifact_hash);

std::string EncodeOutputStamp(const OutputStamp& stamp);
// nullopt for anything malformed: a stamp only saves work.
std::optional<OutputStamp> DecodeOutputStamp(std::string_view text);

// Written to a temporary file renamed over `path` (concurrent runs each leave
// a whole stamp); read back, nullopt when missing or unreadable.
Status SaveOutputStamp(const std::string& path, const OutputStamp& stamp);
std::optional<OutputStamp> LoadOutputStamp(const std::string& path);

}  // namespace cellar::artifact
