#include "tasks/hash/git_index_lister.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "base/strings.h"

namespace cellar::taskhash {
namespace {

std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Settings that change what the index or the work tree is (core.worktree,
// a SHA-256 object format, per-worktree config) are left to git.
bool ConfigFollowed(const std::string& config_path) {
  std::optional<std::string> text = ReadSmallFile(config_path);
  if (!text) return true;  // no config: git's defaults
  const std::string lower = ToLower(*text);
  return lower.find("worktree") == std::string::npos && lower.find("objectformat") == std::string::npos;
}

// lstat's `entries[i]` (relative to `dir_fd`) for every i in `candidates`
// and marks in `vouched` those the index vouches for, on a few threads: most
// of a clean checkout's cost is these system calls.
void CheckStats(int dir_fd, const GitIndex& index, const std::vector<size_t>& candidates,
                std::vector<char>& vouched) {
  constexpr size_t kPerThreadMin = 512;
  const size_t threads = std::clamp<size_t>(candidates.size() / kPerThreadMin, 1,
                                            std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4));
  auto check = [&](size_t from, size_t to) {
    struct stat st;
    for (size_t k = from; k < to; ++k) {
      const GitIndexEntry& e = index.entries[candidates[k]];
      vouched[candidates[k]] =
          ::fstatat(dir_fd, e.path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && IndexVouchesFor(e, st, index);
    }
  };
  std::vector<std::thread> workers;
  const size_t step = (candidates.size() + threads - 1) / threads;
  for (size_t t = 1; t < threads; ++t) {
    workers.emplace_back(check, std::min(t * step, candidates.size()), std::min((t + 1) * step, candidates.size()));
  }
  check(0, std::min(step, candidates.size()));
  for (std::thread& w : workers) w.join();
}

// A cached regular or executable blob at stage 0 that git would look at.
bool Plain(const GitIndexEntry& e) {
  return e.stage == 0 && (e.mode == 0100644 || e.mode == 0100755) && !e.assume_valid && !e.skip_worktree;
}

}  // namespace

std::optional<GitLayout> FindGitLayout(const std::string& start) {
  std::optional<std::string> top = WorkTreeTop(start);
  if (!top) return std::nullopt;
  GitLayout layout;
  layout.top = *top;
  const std::string dot_git = *top == "/" ? "/.git" : *top + "/.git";
  struct stat st;
  if (::stat(dot_git.c_str(), &st) != 0) return std::nullopt;
  if (S_ISDIR(st.st_mode)) {
    layout.git_dir = dot_git;
  } else {
    // A linked worktree or a submodule: "gitdir: <path>".
    std::optional<std::string> text = ReadSmallFile(dot_git);
    if (!text || !text->starts_with("gitdir: ")) return std::nullopt;
    const std::string target(TrimWhitespace(std::string_view(*text).substr(8)));
    if (target.empty()) return std::nullopt;
    layout.git_dir = target.front() == '/' ? target : *top + "/" + target;
  }
  layout.common_dir = layout.git_dir;
  if (std::optional<std::string> common = ReadSmallFile(layout.git_dir + "/commondir")) {
    const std::string c(TrimWhitespace(*common));
    if (c.empty()) return std::nullopt;
    layout.common_dir = c.front() == '/' ? c : layout.git_dir + "/" + c;
  }
  return layout;
}

bool IndexVouchesFor(const GitIndexEntry& e, const struct stat& st, const GitIndex& index) {
  if (!S_ISREG(st.st_mode)) return false;
  const bool executable = (st.st_mode & S_IXUSR) != 0;
  if (executable != (e.mode == 0100755)) return false;
  // git keeps the low 32 bits of each field.
  if (e.size != static_cast<uint32_t>(st.st_size) || e.ino != static_cast<uint32_t>(st.st_ino) ||
      e.uid != static_cast<uint32_t>(st.st_uid) || e.gid != static_cast<uint32_t>(st.st_gid)) {
    return false;
  }
  if (e.mtime_s != static_cast<uint32_t>(st.st_mtim.tv_sec) ||
      e.mtime_ns != static_cast<uint32_t>(st.st_mtim.tv_nsec) ||
      e.ctime_s != static_cast<uint32_t>(st.st_ctim.tv_sec) ||
      e.ctime_ns != static_cast<uint32_t>(st.st_ctim.tv_nsec)) {
    return false;
  }
  // Racily clean: changed in the same tick the index was written, the stat
  // data could match new content.
  const int64_t mtime_s = st.st_mtim.tv_sec;
  const int64_t mtime_ns = st.st_mtim.tv_nsec;
  if (mtime_s > index.file_mtime_s || (mtime_s == index.file_mtime_s && mtime_ns >= index.file_mtime_ns)) {
    return false;
  }
  return true;
}

Result<std::optional<std::vector<GitFile>>> GitIndexLister::ListFiles(const std::string& dir) {
  auto ask_git = [&] {
    fallbacks_.fetch_add(1);
    return fallback_.ListFiles(dir);
  };
  std::optional<GitLayout> layout = FindGitLayout(dir);
  if (!layout || !ConfigFollowed(layout->common_dir + "/config") ||
      (layout->common_dir != layout->git_dir && !ConfigFollowed(layout->git_dir + "/config.worktree"))) {
    return ask_git();
  }
  std::string prefix;
  if (dir != layout->top) {
    if (!dir.starts_with(layout->top + (layout->top == "/" ? "" : "/"))) return ask_git();
    prefix = dir.substr(layout->top == "/" ? 1 : layout->top.size() + 1) + "/";
  }
  // Untracked files, while the index is read and the tracked files stat'ed.
  auto untracked = std::async(std::launch::async, [&] {
    return RunGitIn(runner_, options_, dir, {"ls-files", "-z", "-o", "--exclude-standard"});
  });
  Result<std::optional<GitIndex>> read = ReadGitIndex(layout->git_dir + "/index", prefix);
  std::optional<GitIndex> index;
  if (read.ok()) {
    index = std::move(*read);
  } else if (read.error().code() == Code::kNotFound) {
    index = GitIndex{};  // a repository with nothing added yet
  }
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (!index || dir_fd < 0) {
    if (dir_fd >= 0) ::close(dir_fd);
    (void)untracked.get();
    return ask_git();
  }

  // Which entries the stat data may vouch for: plain cached blobs, not in
  // conflict (a path in conflict has several stages, listed together).
  const std::vector<GitIndexEntry>& entries = index->entries;
  std::vector<size_t> candidates;
  candidates.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const bool conflict = (i > 0 && entries[i - 1].path == entries[i].path) ||
                          (i + 1 < entries.size() && entries[i + 1].path == entries[i].path);
    if (Plain(entries[i]) && !conflict && !entries[i].intent_to_add) candidates.push_back(i);
  }
  std::vector<char> vouched(entries.size(), 0);
  CheckStats(dir_fd, *index, candidates, vouched);
  ::close(dir_fd);

  // One GitFile per path, its string moved from the entry.
  std::vector<GitFile> files;
  files.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    GitIndexEntry& e = index->entries[i];
    if (!files.empty() && files.back().path == e.path) {
      files.back().clean_id.reset();
      continue;
    }
    // `executable` as `git ls-files -v` would give it to GitLsFilesLister:
    // the index's mode of a plain cached blob (it matters only with an id).
    GitFile& f = files.emplace_back(GitFile{std::move(e.path), std::nullopt, Plain(e) && e.mode == 0100755});
    if (vouched[i]) f.clean_id = e.id;
  }

  Result<env::RunResult> others = untracked.get();
  if (!others.ok()) return others.status();
  if (others->exit_code != 0) {
    return Status::Internal("git ls-files -o failed in " + dir + " (exit " + std::to_string(others->exit_code) +
                            "): " + others->err.substr(0, 500));
  }
  const size_t tracked = files.size();
  ForEachNulSeparated(others->out, [&](std::string_view path) {
    const auto end = files.begin() + static_cast<std::ptrdiff_t>(tracked);
    const auto at = std::lower_bound(files.begin(), end, path, GitFileByPath());
    if (at == end || at->path != path) files.push_back(GitFile{std::string(path), std::nullopt, false});
  });
  // Index order is path order; only untracked files need placing.
  if (files.size() > tracked) {
    std::sort(files.begin() + static_cast<std::ptrdiff_t>(tracked), files.end(), GitFileByPath());
    std::inplace_merge(files.begin(), files.begin() + static_cast<std::ptrdiff_t>(tracked), files.end(),
                       GitFileByPath());
  }
  return std::optional<std::vector<GitFile>>(std::move(files));
}

}  // namespace cellar::taskhash
