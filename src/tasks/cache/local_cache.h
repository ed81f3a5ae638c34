// LocalCache: the task runner's on-disk artifact cache, a directory
// (`.cellar/cache/` under the workspace root, or `--cache-dir`). Artifacts
// are opaque files named by task hash:
//
//   <dir>/<hash>.tar.zst   the artifact (written by tasks/artifact)
//   <dir>/<hash>.meta      sidecar: "<size> <sha256> <inode>\n", so an upload
//                          does not hash the file again and a truncated entry
//                          is noticed; one naming another inode is a leftover
//                          of an earlier file and is ignored
//   <dir>/tmp/             files being written; never looked up
//
// Nothing partial is ever visible under a final name: writers fill a file
// from NewTempFile() and Insert() links it into place, first insert wins (a
// concurrent insert of the same hash finds the entry and discards its copy,
// as the server does). Format: docs/protocols/negotiate.md, "Client".
// Thread-safety: every method may be called concurrently, also from several
// processes sharing the directory.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <optional>
#include <string>

#include "base/status.h"
#include "tasks/cache/artifact_key.h"

namespace cellar::taskcache {

struct LocalArtifact {
  std::string path;                   // the artifact file; read it, never write it
  std::optional<FileDigest> digest;   // from the sidecar; nullopt when it is missing
};

class LocalCache {
 public:
  // `dir` need not exist yet; it is created on first write.
  explicit LocalCache(std::string dir);

  const std::string& dir() const { return dir_; }

  // The entry for `hash`, or nullopt on a miss. An entry whose size differs
  // from its sidecar (a file cut short by a crash) is removed and is a miss.
  // kInvalidArgument for an invalid hash.
  Result<std::optional<LocalArtifact>> Lookup(const std::string& hash) const;

  // Creates an empty file under <dir>/tmp/ for an artifact being written or
  // downloaded and returns its path. The caller either Insert()s it or
  // removes it (RemoveTemp); `cellar clean` removes leftovers.
  Result<std::string> NewTempFile() const;
  static void RemoveTemp(const std::string& temp_path);

  // Moves `temp_path` (a finished artifact, ideally from NewTempFile()) into
  // the cache as `hash` and returns the entry. When the entry already exists
  // the existing one is kept and temp_path is discarded. `digest` is the
  // file's size and SHA-256 when the caller knows them (computed otherwise).
  // temp_path is gone afterwards, whatever the outcome.
  Result<LocalArtifact> Insert(const std::string& hash, const std::string& temp_path,
                               std::optional<FileDigest> digest = std::nullopt) const;

  // Removes files under <dir>/tmp/ not written for `older_than`: what an
  // interrupted run left. A run calls it at start with a margin (an hour)
  // so another run's files in progress stay.
  void PruneTemps(std::chrono::seconds older_than) const;

  // Removes the whole cache directory (`cellar clean`). OK when it is absent.
  Status Clean() const;

 private:
  std::string ArtifactPath(const std::string& hash) const;
  std::string SidecarPath(const std::string& hash) const;
  std::string TempDir() const;
  Status WriteSidecar(const std::string& hash, const FileDigest& digest, const struct stat& artifact) const;

  std::string dir_;
};

}  // namespace cellar::taskcache
