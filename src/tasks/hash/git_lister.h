// GitLister: the one git question the task hash asks, "which files under
// this directory does git track or would track?", behind an interface so the
// input-enumeration tests script the answer (FakeGitLister).
// GitLsFilesLister asks git itself, through an env::ProcessRunner.
// Thread-safety: implementations must allow concurrent calls.
#pragma once

#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/process_runner.h"

namespace cellar::taskhash {

class GitLister {
 public:
  virtual ~GitLister() = default;
  // Files under `dir` (absolute) that git tracks (in the index, even when
  // deleted from the work tree) or would track (untracked and not ignored),
  // as '/'-separated paths relative to `dir`, in no particular order.
  // nullopt: `dir` is not inside a git work tree. Errors: git failed.
  [[nodiscard]] virtual Result<std::optional<std::vector<std::string>>> ListFiles(
      const std::string& dir) = 0;
};

struct GitLsFilesOptions {
  std::string git = "git";  // program, looked up in PATH
  std::chrono::milliseconds timeout{120'000};
  size_t max_output_bytes = size_t{512} << 20;
};

// Runs `git ls-files -z --cached --others --exclude-standard` in `dir`.
// When git cannot be started and no `.git` exists in `dir` or a parent, the
// directory is treated as outside git (nullopt); with a `.git`, it is an error.
class GitLsFilesLister : public GitLister {
 public:
  // `runner` must outlive this object.
  explicit GitLsFilesLister(env::ProcessRunner& runner, GitLsFilesOptions options = {})
      : runner_(runner), options_(std::move(options)) {}
  Result<std::optional<std::vector<std::string>>> ListFiles(const std::string& dir) override;

 private:
  env::ProcessRunner& runner_;
  GitLsFilesOptions options_;
};

// Asks `inner` about `dir` at once, on a thread of its own, so the git
// process runs while the caller does other start-up work; ListFiles(dir)
// then waits for that answer (other directories go to `inner` directly).
// The destructor waits for the early call to end.
class EarlyGitLister : public GitLister {
 public:
  // `inner` must outlive this object.
  EarlyGitLister(GitLister& inner, const std::string& dir);
  ~EarlyGitLister() override;
  Result<std::optional<std::vector<std::string>>> ListFiles(const std::string& dir) override;

 private:
  GitLister& inner_;
  const std::string dir_;
  std::future<Result<std::optional<std::vector<std::string>>>> early_;
  std::mutex mu_;
  bool taken_ = false;  // GUARDED_BY(mu_): the early answer goes to one caller
};

// Splits NUL-separated `git ls-files -z` output (empty entries dropped).
std::vector<std::string> SplitNulSeparated(const std::string& out);

}  // namespace cellar::taskhash
