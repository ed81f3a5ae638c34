#include "tasks/hash/git_lister.h"

#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>

namespace cellar::taskhash {
namespace {

// The entry for `path` in `files` (sorted by path), or null.
GitFile* Find(std::vector<GitFile>& files, std::string_view path) {
  auto it = std::lower_bound(files.begin(), files.end(), path, GitFileByPath());
  return it != files.end() && it->path == path ? &*it : nullptr;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A SHA-1 object id; nullopt for anything else (a SHA-256 repository's
// ids, which this hash does not use: docs/task-hash.md).
std::optional<hash::GitBlobIdBytes> ParseObjectId(std::string_view hex) {
  if (hex.size() != 2 * hash::kGitBlobIdLen) return std::nullopt;
  hash::GitBlobIdBytes id;
  for (size_t i = 0; i < id.size(); ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

}  // namespace

std::optional<std::string> WorkTreeTop(const std::string& start) {
  std::string dir = start;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  while (true) {
    struct stat st;
    if (::stat((dir == "/" ? std::string("/.git") : dir + "/.git").c_str(), &st) == 0) return dir;
    const size_t slash = dir.find_last_of('/');
    if (dir == "/" || dir.empty() || slash == std::string::npos) return std::nullopt;
    dir = slash == 0 ? "/" : dir.substr(0, slash);
  }
}

void ForEachNulSeparated(std::string_view out, const std::function<void(std::string_view)>& fn) {
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\0', start);
    if (end == std::string_view::npos) end = out.size();
    if (end > start) fn(out.substr(start, end - start));
    start = end + 1;
  }
}

Result<std::vector<GitFile>> ParseLsFilesStage(const std::string& out) {
  std::vector<GitFile> files;
  files.reserve(static_cast<size_t>(std::count(out.begin(), out.end(), '\0')));
  Status malformed;
  ForEachNulSeparated(out, [&](std::string_view record) {
    if (!malformed.ok()) return;
    // "<tag> <mode> <id> <stage>\t<path>"; the path may hold anything but NUL.
    const size_t tab = record.find('\t');
    const std::string_view head = record.substr(0, tab);
    const size_t s1 = head.find(' ');
    const size_t s2 = s1 == std::string_view::npos ? s1 : head.find(' ', s1 + 1);
    const size_t s3 = s2 == std::string_view::npos ? s2 : head.find(' ', s2 + 1);
    if (tab == std::string_view::npos || s3 == std::string_view::npos || s1 != 1) {
      malformed = Status::Internal("unexpected git ls-files output: " + std::string(record.substr(0, 200)));
      return;
    }
    const char tag = head[0];
    const std::string_view mode = head.substr(s1 + 1, s2 - s1 - 1);
    const std::string_view id = head.substr(s2 + 1, s3 - s2 - 1);
    const std::string_view stage = head.substr(s3 + 1);
    GitFile& file = files.emplace_back();
    file.path.assign(record.substr(tab + 1));
    // 'H': cached, neither skip-worktree ('S') nor assume-unchanged (lower
    // case); stage 0: not in conflict; regular or executable blobs only.
    if (tag == 'H' && stage == "0" && (mode == "100644" || mode == "100755")) {
      file.clean_id = ParseObjectId(id);
      file.executable = mode == "100755";
    }
  });
  if (!malformed.ok()) return malformed;
  // git lists its index in path order already; sorting is for anything else.
  if (!std::is_sorted(files.begin(), files.end(), GitFileByPath())) {
    std::stable_sort(files.begin(), files.end(), GitFileByPath());
  }
  // A conflicted path is listed once per stage: keep one entry, with no id.
  size_t kept = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    if (kept > 0 && files[kept - 1].path == files[i].path) {
      files[kept - 1].clean_id.reset();
      continue;
    }
    if (kept != i) files[kept] = std::move(files[i]);
    ++kept;
  }
  files.resize(kept);
  return files;
}

void ApplyStatus(const std::string& out, const std::string& prefix, std::vector<GitFile>& files) {
  std::vector<GitFile> untracked;
  ForEachNulSeparated(out, [&](std::string_view record) {
    if (record.size() < 4 || record[2] != ' ') return;
    const char x = record[0];
    const char y = record[1];
    std::string_view path = record.substr(3);
    if (!path.starts_with(prefix)) return;  // outside the listed directory
    path.remove_prefix(prefix.size());
    if (x == '?' && y == '?') {
      untracked.push_back(GitFile{std::string(path), std::nullopt, false});
      return;
    }
    // Y: the work tree against the index. 'U' on either side, or "AA" /
    // "DD": a conflict. Anything else with Y blank is staged only: the index
    // holds exactly the work-tree content.
    const bool conflicted = x == 'U' || y == 'U' || (x == 'A' && y == 'A') || (x == 'D' && y == 'D');
    if (y == ' ' && !conflicted) return;
    if (GitFile* file = Find(files, path)) file->clean_id.reset();
  });
  if (untracked.empty()) return;
  for (GitFile& file : untracked) {
    if (Find(files, file.path) == nullptr) files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(), GitFileByPath());
}

Result<env::RunResult> RunGitIn(env::ProcessRunner& runner, const GitLsFilesOptions& git,
                                const std::string& dir, std::vector<std::string> args) {
  const std::string what = "git " + args.front();
  env::SubprocessOptions options;
  options.argv = {git.git};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.env = env::CurrentEnvironment({"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"}, {});
  options.cwd = dir;
  options.pipe_stdout = true;
  options.pipe_stderr = true;
  Result<env::RunResult> run = runner.Run(std::move(options), "", git.timeout, git.max_output_bytes);
  // kUnavailable: git could not be started at all (the caller decides
  // whether that means "outside git").
  if (!run.ok()) return Status::Unavailable("cannot run " + what + " in " + dir + ": " + run.status().message());
  if (run->timed_out) return Status::DeadlineExceeded(what + " timed out in " + dir);
  if (run->out.size() >= git.max_output_bytes) {
    return Status::ResourceExhausted(what + " output too large in " + dir);
  }
  return run;
}

Result<std::optional<std::vector<GitFile>>> GitLsFilesLister::ListFiles(const std::string& dir) {
  // The three run at once; each costs a process start, and status (which
  // stats every tracked file) takes longest.
  auto status = std::async(std::launch::async, [&] {
    return RunGit(dir, {"status", "--porcelain", "-z", "--untracked-files=all", "--no-renames",
                        "--ignore-submodules=all", "--", "."});
  });
  auto prefix = std::async(std::launch::async, [&] { return RunGit(dir, {"rev-parse", "--show-prefix"}); });
  Result<env::RunResult> index = RunGit(dir, {"ls-files", "-z", "-s", "-v"});
  // Parsed while git status is still running: status takes longest.
  Result<std::vector<GitFile>> files = Status::Internal("git ls-files did not run");
  if (index.ok() && index->exit_code == 0) {
    files = ParseLsFilesStage(index->out);
    index->out.clear();
    index->out.shrink_to_fit();
  }
  Result<env::RunResult> status_run = status.get();
  Result<env::RunResult> prefix_run = prefix.get();

  if (!index.ok()) {
    if (index.status().code() == Code::kUnavailable && !WorkTreeTop(dir)) {
      return std::optional<std::vector<GitFile>>();
    }
    return index.status();
  }
  if (index->exit_code != 0) {
    if (index->err.find("not a git repository") != std::string::npos) {
      return std::optional<std::vector<GitFile>>();
    }
    return Status::Internal("git ls-files failed in " + dir + " (exit " +
                            std::to_string(index->exit_code) + "): " + index->err.substr(0, 500));
  }
  for (const Result<env::RunResult>* run : {&status_run, &prefix_run}) {
    if (!run->ok()) return run->status();
    if ((*run)->exit_code != 0) {
      return Status::Internal("git failed in " + dir + " (exit " + std::to_string((*run)->exit_code) +
                              "): " + (*run)->err.substr(0, 500));
    }
  }
  if (!files.ok()) return files.status().WithContext(dir);
  std::string top_prefix = prefix_run->out;
  while (!top_prefix.empty() && (top_prefix.back() == '\n' || top_prefix.back() == '\r')) {
    top_prefix.pop_back();
  }
  ApplyStatus(status_run->out, top_prefix, *files);
  return std::optional<std::vector<GitFile>>(std::move(*files));
}

EarlyGitLister::EarlyGitLister(GitLister& inner, const std::string& dir)
    : inner_(inner), dir_(dir), early_(std::async(std::launch::async, [this] { return inner_.ListFiles(dir_); })) {}

EarlyGitLister::~EarlyGitLister() {
  if (early_.valid()) early_.wait();
}

Result<std::optional<std::vector<GitFile>>> EarlyGitLister::ListFiles(const std::string& dir) {
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
