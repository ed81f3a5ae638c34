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

Result<const std::optional<std::vector<GitFile>>*> InputEnumerator::GitFiles() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!listed_) {
    listed_ = true;
    Result<std::optional<std::vector<GitFile>>> files = git_.ListFiles(root_);
    if (!files.ok()) {
      list_error_ = files.status();
    } else {
      git_files_ = std::move(*files);
      if (git_files_) {
        std::sort(git_files_->begin(), git_files_->end(), GitFileByPath());
      }
    }
  }
  if (!list_error_.ok()) return list_error_;
  return &git_files_;
}

Result<std::vector<std::optional<FileDigest>>> InputEnumerator::IndexDigests(
    const std::vector<std::string>& paths) {
  Result<const std::optional<std::vector<GitFile>>*> git = GitFiles();
  if (!git.ok()) return git.error();
  std::vector<std::optional<FileDigest>> out(paths.size());
  const std::optional<std::vector<GitFile>>& all = **git;
  if (!all) return out;
  for (size_t i = 0; i < paths.size(); ++i) {
    auto it = std::lower_bound(all->begin(), all->end(), std::string_view(paths[i]), GitFileByPath());
    if (it == all->end() || it->path != paths[i] || !it->clean_id) continue;
    FileDigest digest;
    digest.kind = it->executable ? FileKind::kExecutable : FileKind::kRegular;
    digest.id = *it->clean_id;
    out[i] = std::move(digest);
  }
  return out;
}

Result<std::vector<std::string>> InputEnumerator::DefaultFiles(const InputQuery& query,
                                                               const std::string& package_root,
                                                               InputSource* source) {
  Result<const std::optional<std::vector<GitFile>>*> git = GitFiles();
  if (!git.ok()) return git.error();
  std::vector<std::string> files;
  if (const std::optional<std::vector<GitFile>>& all = **git; all.has_value()) {
    *source = InputSource::kGit;
    const std::string prefix = query.package_dir.empty() ? "" : query.package_dir + "/";
    auto first = std::lower_bound(all->begin(), all->end(), std::string_view(prefix), GitFileByPath());
    for (auto it = first; it != all->end() && it->path.starts_with(prefix); ++it) {
      // The workspace's cache directory is never an input, ignored or not.
      if (it->path.starts_with(".cellar/")) continue;
      files.push_back(it->path.substr(prefix.size()));
    }
  } else {
    *source = InputSource::kWalk;
    Result<std::vector<std::string>> walked = Walk(package_root, {"**"});
    if (!walked.ok()) return walked.error();
    files = std::move(*walked);
  }
  std::vector<std::string> kept;
  for (std::string& file : files) {
    if (!UnderAny(file, query.nested_packages)) kept.push_back(std::move(file));
  }
  return kept;
}

Result<InputListing> InputEnumerator::List(const InputQuery& query) {
  CELLAR_RETURN_IF_ERROR(CheckPackageDir(query.package_dir));
  Result<glob::PatternSet> outputs = glob::PatternSet::Parse(query.outputs);
  if (!outputs.ok()) return outputs.error().WithContext("outputs");
  const std::string package_root =
      query.package_dir.empty() ? root_ : root_ + "/" + query.package_dir;

  InputListing listing;
  std::vector<std::string> candidates;
  const bool with_defaults =
      std::find(query.inputs.begin(), query.inputs.end(), kDefaultInputs) != query.inputs.end();
  if (query.inputs.empty()) {
    Result<std::vector<std::string>> files = DefaultFiles(query, package_root, &listing.source);
    if (!files.ok()) return files.error();
    candidates = std::move(*files);
  } else {
    listing.source = InputSource::kGlobs;
    std::vector<std::string> globs;  // the inputs without the marker
    for (const std::string& g : query.inputs) {
      if (g != kDefaultInputs) globs.push_back(g);
    }
    Result<std::vector<std::string>> files = Walk(package_root, globs);
    if (!files.ok()) return files.error().WithContext("inputs");
    candidates = std::move(*files);
    if (with_defaults) {
      // The default files, filtered by the inputs with the marker standing
      // for "**", so a later '!README.md' removes a default file too.
      std::vector<std::string> as_globs = query.inputs;
      std::replace(as_globs.begin(), as_globs.end(), std::string(kDefaultInputs), std::string("**"));
      Result<glob::PatternSet> filter = glob::PatternSet::Parse(as_globs);
      if (!filter.ok()) return filter.error().WithContext("inputs");
      InputSource ignored;
      Result<std::vector<std::string>> defaults = DefaultFiles(query, package_root, &ignored);
      if (!defaults.ok()) return defaults.error();
      for (std::string& file : *defaults) {
        if (filter->Matches(file)) candidates.push_back(std::move(file));
      }
      std::sort(candidates.begin(), candidates.end());
      candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    }
  }
  for (std::string& file : candidates) {
    if (outputs->MatchesPathOrParent(file)) continue;
    listing.files.push_back(std::move(file));
  }
  return listing;
}

}  // namespace cellar::taskhash
