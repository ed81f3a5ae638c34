#include "tasks/hash/git_lister.h"

#include <sys/stat.h>

#include <string>


namespace cellar::taskhash {
namespace {

// True when `dir` or one of its parents holds a ".git" entry (a directory,
// or a file for worktrees and submodules).
bool InsideGitCheckout(std::string dir) {
  while (true) {
    struct stat st;
    if (::stat((dir + "/.git").c_str(), &st) == 0) return true;
    size_t slash = dir.find_last_of('/');
    if (slash == std::string::npos || dir.empty()) return false;
    if (slash == 0) {
      if (dir == "/") return false;
      dir = "/";
    } else {
      dir.resize(slash);
    }
  }
}

}  // namespace

std::vector<std::string> SplitNulSeparated(const std::string& out) {
  std::vector<std::string> files;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\0', start);
    if (end == std::string::npos) end = out.size();
    if (end > start) files.emplace_back(out, start, end - start);
    start = end + 1;
  }
  return files;
}

Result<std::optional<std::vector<std::string>>> GitLsFilesLister::ListFiles(
    const std::string& dir) {
  env::SubprocessOptions options;
  options.argv = {options_.git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"};
  // A hook or a wrapper may point these at another repository; we ask about
  // the work tree that holds `dir`.
  options.env = env::CurrentEnvironment({"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"}, {});
  options.cwd = dir;
  options.pipe_stdout = true;
  options.pipe_stderr = true;
  Result<env::RunResult> run =
      runner_.Run(std::move(options), "", options_.timeout, options_.max_output_bytes);
  if (!run.ok()) {
    if (!InsideGitCheckout(dir)) return std::optional<std::vector<std::string>>();
    return run.status().WithContext("cannot run git ls-files in " + dir);
  }
  if (run->timed_out) {
    return Status::DeadlineExceeded("git ls-files timed out in " + dir);
  }
  if (run->exit_code != 0) {
    if (run->err.find("not a git repository") != std::string::npos) {
      return std::optional<std::vector<std::string>>();
    }
    return Status::Internal("git ls-files failed in " + dir + " (exit " +
                            std::to_string(run->exit_code) + "): " + run->err.substr(0, 500));
  }
  if (run->out.size() >= options_.max_output_bytes) {
    return Status::ResourceExhausted("git ls-files output too large in " + dir);
  }
  return std::optional<std::vector<std::string>>(SplitNulSeparated(run->out));
}

EarlyGitLister::EarlyGitLister(GitLister& inner, const std::string& dir)
    : inner_(inner), dir_(dir), early_(std::async(std::launch::async, [this] { return inner_.ListFiles(dir_); })) {}

EarlyGitLister::~EarlyGitLister() {
  if (early_.valid()) early_.wait();
}

Result<std::optional<std::vector<std::string>>> EarlyGitLister::ListFiles(const std::string& dir) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dir == dir_ && !taken_) {
      taken_ = true;
      return early_.get();
    }
  }
  return inner_.ListFiles(dir);
}

}  // namespace cellar::taskhash
