#include "tasks/hash/input_files.h"

#include <algorithm>

#include "base/strings.h"
#include "glob/glob.h"

namespace cellar::taskhash {
namespace {

// Never entered when walking: VCS data, installed dependencies (the
// lockfile stands for them in the global hash) and cellar's own cache.
const std::vector<std::string>& SkippedDirNames() {
  static const std::vector<std::string> names = {".git", "node_modules", ".cellar"};
  return names;
}

bool UnderAny(std::string_view path, const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) {
    if (dir.empty()) continue;
    if (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/') return true;
  }
  return false;
}

Result<std::vector<std::string>> Walk(const std::string& dir, const std::vector<std::string>& globs) {
  Result<glob::PatternSet> set = glob::PatternSet::Parse(globs);
  if (!set.ok()) return set.error();
  glob::ExpandOptions options;
  options.skip_dir_names = SkippedDirNames();
  return glob::Expand(dir, *set, options);
}

}  // namespace

std::string_view InputSourceName(InputSource source) {
  switch (source) {
    case InputSource::kGit:
      return "git";
    case InputSource::kWalk:
      return "walk";
    case InputSource::kGlobs:
      return "globs";
  }
  return "unknown";
}

Status CheckPackageDir(std::string_view dir) {
  if (dir.empty()) return Status::Ok();
  if (dir.front() == '/' || dir.back() == '/') {
    return Status::InvalidArgument("package dir must be relative without a trailing '/': " +
                                   std::string(dir));
  }
  for (std::string_view part : SplitView(dir, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return Status::InvalidArgument("package dir must be a plain relative path: " +
                                     std::string(dir));
    }
  }
  return Status::Ok();
}

InputEnumerator::InputEnumerator(std::string workspace_root, GitLister& git)
    : root_(std::move(workspace_root)), git_(git) {}

Result<const std::optional<std::vector<std::string>>*> InputEnumerator::GitFiles() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!listed_) {
    listed_ = true;
    Result<std::optional<std::vector<std::string>>> files = git_.ListFiles(root_);
    if (!files.ok()) {
      list_error_ = files.status();
    } else {
      git_files_ = std::move(*files);
      if (git_files_) std::sort(git_files_->begin(), git_files_->end());
    }
  }
  if (!list_error_.ok()) return list_error_;
  return &git_files_;
}

Result<InputListing> InputEnumerator::List(const InputQuery& query) {
  CELLAR_RETURN_IF_ERROR(CheckPackageDir(query.package_dir));
  Result<glob::PatternSet> outputs = glob::PatternSet::Parse(query.outputs);
  if (!outputs.ok()) return outputs.error().WithContext("outputs");
  const std::string package_root =
      query.package_dir.empty() ? root_ : root_ + "/" + query.package_dir;

  InputListing listing;
  std::vector<std::string> candidates;
  if (!query.inputs.empty()) {
    listing.source = InputSource::kGlobs;
    Result<std::vector<std::string>> files = Walk(package_root, query.inputs);
    if (!files.ok()) return files.error().WithContext("inputs");
    candidates = std::move(*files);
  } else {
    Result<const std::optional<std::vector<std::string>>*> git = GitFiles();
    if (!git.ok()) return git.error();
    if (const std::optional<std::vector<std::string>>& all = **git; all.has_value()) {
      listing.source = InputSource::kGit;
      const std::string prefix = query.package_dir.empty() ? "" : query.package_dir + "/";
      for (auto it = std::lower_bound(all->begin(), all->end(), prefix);
           it != all->end() && it->starts_with(prefix); ++it) {
        // The workspace's cache directory is never an input, ignored or not.
        if (it->starts_with(".cellar/")) continue;
        candidates.push_back(it->substr(prefix.size()));
      }
    } else {
      listing.source = InputSource::kWalk;
      Result<std::vector<std::string>> files = Walk(package_root, {"**"});
      if (!files.ok()) return files.error();
      candidates = std::move(*files);
    }
  }
  for (std::string& file : candidates) {
    if (outputs->MatchesPathOrParent(file)) continue;
    if (listing.source != InputSource::kGlobs && UnderAny(file, query.nested_packages)) continue;
    listing.files.push_back(std::move(file));
  }
  return listing;
}

}  // namespace cellar::taskhash
