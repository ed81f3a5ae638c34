// GitIndexLister: GitLister's answer from git's index file, read directly
// (git_index.h), and lstat(2), with one git process for the untracked files.
//
// Why: `git status` is what makes a clean tracked file known without reading
// it, and on a full cache hit it was most of the run: it lstat's every tracked
// file on twenty threads (on a 2-core VM they only compete with the rest of
// the run), and `git ls-files -s` and `git rev-parse` run beside it. Here the
// index is read in-process, tracked files are lstat'ed on a few threads and
// compared with the stat data git recorded, and `git ls-files -o
// --exclude-standard` (which stats no tracked file) lists untracked files.
//
// The rule is the one git's own status uses, made stricter where that only
// costs a read: a tracked file is vouched for (clean_id) only when it is a
// stage-0 regular or executable blob without the assume-valid, skip-worktree
// or intent-to-add flags, and lstat gives the same type, execute bit, size,
// mtime and ctime (seconds and nanoseconds), inode, uid and gid as the index
// recorded, and its mtime is older than the index file's ("racily clean"
// entries are read, as git reads them). Anything else is read and hashed by
// cellar, which always gives the right id. Unlike `git status`, nothing is
// written back to the index: a file touched but unchanged is read again by
// later runs (the digest memo then spares the read) until git refreshes it.
//
// `fallback` (GitLsFilesLister) answers whenever this reader does not: no
// `.git` above `dir`, a `.git` file or config it does not follow (core.worktree,
// a SHA-256 repository), an index it does not parse (git_index.h). Docs:
// docs/task-hash.md, section 1b.
// Thread-safety: concurrent calls are fine.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <optional>
#include <string>

#include "tasks/hash/git_index.h"
#include "tasks/hash/git_lister.h"

namespace cellar::taskhash {

class GitIndexLister : public GitLister {
 public:
  // `runner` and `fallback` must outlive this object.
  GitIndexLister(env::ProcessRunner& runner, GitLister& fallback, GitLsFilesOptions options = {})
      : runner_(runner), fallback_(fallback), options_(std::move(options)) {}
  Result<std::optional<std::vector<GitFile>>> ListFiles(const std::string& dir) override;

  // How many calls the fallback answered (tests).
  int fallbacks() const { return fallbacks_.load(); }

 private:
  env::ProcessRunner& runner_;
  GitLister& fallback_;
  GitLsFilesOptions options_;
  std::atomic<int> fallbacks_{0};
};

// Where a work tree's git data is, as this reader follows it.
struct GitLayout {
  std::string top;         // the work tree's top directory
  std::string git_dir;     // its .git directory (a worktree's own, for a linked worktree)
  std::string common_dir;  // where config lives (git_dir but for linked worktrees)
};

// The layout of the work tree holding `dir` (absolute): the nearest `.git`
// directory, or `.git` file ("gitdir: ...") above it. nullopt: no `.git`, or
// one this reader leaves to git.
std::optional<GitLayout> FindGitLayout(const std::string& dir);

// True when the lstat data `st` of a work-tree file shows it is exactly
// what `entry` recorded, by the rule above; `index` gives the racy limit.
bool IndexVouchesFor(const GitIndexEntry& entry, const struct stat& st, const GitIndex& index);

}  // namespace cellar::taskhash
