// GitLister: the one git question the task hash asks, "which files under
// this directory does git track or would track, and which of them are
// exactly what git's index records?", behind an interface so the
// input-enumeration tests script the answer (FakeGitLister).
// GitLsFilesLister asks git itself, through an env::ProcessRunner.
// Why the index matters: a clean tracked file's git blob id is the task
// hash's name for its content (docs/task-hash.md), so a fresh checkout's
// inputs are known without reading them.
// Thread-safety: implementations must allow concurrent calls.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "env/process_runner.h"
#include "hash/git_blob_id.h"

namespace cellar::taskhash {

struct GitFile {
  std::string path;  // relative to the listed directory, '/'-separated
  // Set when git's index vouches for the work-tree file: tracked, not in
  // conflict, neither modified nor marked assume-unchanged or
  // skip-worktree, a regular file (not a symlink or submodule) with a
  // SHA-1 object id. Then the file's blob id is this and its execute bit
  // is `executable`, without reading it.
  std::optional<hash::GitBlobIdBytes> clean_id;
  bool executable = false;

  bool operator==(const GitFile&) const = default;
};

// Orders GitFiles by path, and finds one by path (std::lower_bound).
struct GitFileByPath {
  bool operator()(const GitFile& a, const GitFile& b) const { return a.path < b.path; }
  bool operator()(const GitFile& a, std::string_view path) const { return a.path < path; }
};

class GitLister {
 public:
  virtual ~GitLister() = default;
  // Files under `dir` (absolute) that git tracks (in the index, even when
  // deleted from the work tree) or would track (untracked and not ignored),
  // each once, in no particular order.
  // nullopt: `dir` is not inside a git work tree. Errors: git failed.
  [[nodiscard]] virtual Result<std::optional<std::vector<GitFile>>> ListFiles(
      const std::string& dir) = 0;
};

struct GitLsFilesOptions {
  std::string git = "git";  // program, looked up in PATH
  std::chrono::milliseconds timeout{120'000};
  size_t max_output_bytes = size_t{512} << 20;
};

// Runs `git <args>` in `dir` with `options`' program, timeout and output cap,
// without the GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE cellar inherited (a
// hook or a wrapper may point them at another repository; the listers ask
// about the work tree that holds `dir`). Errors name the git command and
// `dir`: kUnavailable when git could not be started, kDeadlineExceeded,
// kResourceExhausted when the output reached the cap. A non-zero exit is
// the caller's to judge.
Result<env::RunResult> RunGitIn(env::ProcessRunner& runner, const GitLsFilesOptions& options,
                                const std::string& dir, std::vector<std::string> args);

// Runs three git commands in `dir` at once: `git ls-files -z -s -v` (the
// index: mode, object id, stage and state of every tracked file),
// `git status --porcelain -z --untracked-files=all --no-renames
// --ignore-submodules=all -- .` (what differs from the index, and untracked
// files), and `git rev-parse --show-prefix` (status names paths from the
// repository's top; ls-files from `dir`). `git status` refreshes the index's
// stat data as it always does, so a checkout's first run pays for git's
// content checks once, not every run.
// When git cannot be started and no `.git` exists in `dir` or a parent, the
// directory is treated as outside git (nullopt); with a `.git`, it is an error.
class GitLsFilesLister : public GitLister {
 public:
  // `runner` must outlive this object.
  explicit GitLsFilesLister(env::ProcessRunner& runner, GitLsFilesOptions options = {})
      : runner_(runner), options_(std::move(options)) {}
  Result<std::optional<std::vector<GitFile>>> ListFiles(const std::string& dir) override;

 private:
  Result<env::RunResult> RunGit(const std::string& dir, std::vector<std::string> args) {
    return RunGitIn(runner_, options_, dir, std::move(args));
  }

  env::ProcessRunner& runner_;
  GitLsFilesOptions options_;
};

// Asks `inner` about `dir` at once, on a thread of its own, so the git
// processes run while the caller does other start-up work; ListFiles(dir)
// then waits for that answer (other directories go to `inner` directly).
// The destructor waits for the early call to end.
class EarlyGitLister : public GitLister {
 public:
  // `inner` must outlive this object.
  EarlyGitLister(GitLister& inner, const std::string& dir);
  ~EarlyGitLister() override;
  Result<std::optional<std::vector<GitFile>>> ListFiles(const std::string& dir) override;

 private:
  GitLister& inner_;
  const std::string dir_;
  std::future<Result<std::optional<std::vector<GitFile>>>> early_;
  std::mutex mu_;
  bool taken_ = false;  // GUARDED_BY(mu_): the early answer goes to one caller
};

// The nearest of `dir` (absolute) and its parents that holds a ".git"
// entry (a directory, or a file for linked worktrees and submodules);
// nullopt when none does.
std::optional<std::string> WorkTreeTop(const std::string& dir);

// Calls `fn` with each record of NUL-separated `git ... -z` output, in
// order, empty records skipped.
void ForEachNulSeparated(std::string_view out, const std::function<void(std::string_view)>& fn);

// Parsers of the three outputs, exposed for tests.
// `git ls-files -z -s -v`: "<tag> <mode> <object id> <stage>\t<path>" per
// entry. Unmerged paths (several stages) come out once, without an id.
Result<std::vector<GitFile>> ParseLsFilesStage(const std::string& out);
// `git status --porcelain -z --no-renames`: "XY <path>" per entry, paths
// from the repository's top. Adds untracked files under `prefix` to `files`
// and clears clean_id of every tracked file the work tree changed.
// `prefix` is `git rev-parse --show-prefix`'s answer ("" or ending in '/').
void ApplyStatus(const std::string& out, const std::string& prefix, std::vector<GitFile>& files);

}  // namespace cellar::taskhash
