// ReadGitIndex: the entries of a git index file (`.git/index`), read
// directly, with the stat data git recorded for each, so that cellar can
// tell a clean tracked file from lstat(2) alone, as `git status` does,
// without starting git for it (git_index_lister.h says why).
//
// Handled: index versions 2, 3 and 4 (v4's prefix-compressed paths), the
// assume-valid, skip-worktree and intent-to-add flags, optional extensions
// (skipped). Anything else makes the answer nullopt ("ask git"): a split
// index, a sparse index, a required extension this reader does not know, a
// version other than 2-4, or bytes that do not parse. The layout is
// described in docs/task-hash.md (section 1b).
// Thread-safety: free function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "hash/git_blob_id.h"

namespace cellar::taskhash {

struct GitIndexEntry {
  std::string path;  // relative to the directory asked for (see ReadGitIndex)
  uint32_t mode = 0;  // git's: 0100644, 0100755, 0120000 (symlink), 0160000 (submodule)
  int stage = 0;      // 0, or 1-3 for the sides of a conflict
  bool assume_valid = false;
  bool skip_worktree = false;
  bool intent_to_add = false;
  hash::GitBlobIdBytes id{};
  // Stat data as git recorded it (32-bit fields, as git stores them).
  uint32_t ctime_s = 0, ctime_ns = 0, mtime_s = 0, mtime_ns = 0;
  uint32_t dev = 0, ino = 0, uid = 0, gid = 0, size = 0;
};

struct GitIndex {
  std::vector<GitIndexEntry> entries;  // in index order: by path, then stage
  // The index file's own mtime: an entry whose mtime is not older than this
  // may have changed within the same timestamp tick ("racily clean").
  int64_t file_mtime_s = 0;
  int64_t file_mtime_ns = 0;
};

// Reads the index at `index_path`, keeping the entries under `prefix` (""
// or a path from the top of the work tree ending in '/'), with the prefix
// removed from their paths. nullopt: a feature listed above that this reader
// leaves to git. Errors: the file cannot be read.
Result<std::optional<GitIndex>> ReadGitIndex(const std::string& index_path, std::string_view prefix);

// The same from the bytes of an index file (tests).
std::optional<GitIndex> ParseGitIndex(std::string_view bytes, std::string_view prefix);

}  // namespace cellar::taskhash
