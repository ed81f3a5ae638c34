// InputEnumerator: which files go into a task's hash. Default inputs (no
// `inputs` globs) are the package's files that git tracks or would track;
// outside git, every file of the package except `.git`, `node_modules` and
// `.cellar` directories. Explicit `inputs` globs are matched on disk (so
// they can name git-ignored files such as `.env.local`). The task's own
// outputs are never inputs, nor is the workspace's `.cellar/`. See
// docs/task-hash.md section 2.
// git runs once per enumerator (once per run) for the whole workspace; each
// package takes its slice of that listing.
// Thread-safety: List() may be called concurrently.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tasks/hash/file_hasher.h"
#include "tasks/hash/git_lister.h"

namespace cellar::taskhash {

enum class InputSource { kGit, kWalk, kGlobs };
std::string_view InputSourceName(InputSource source);

// An `inputs` entry meaning "the default inputs" (turbo's spelling, so
// configs converted from turbo.json keep it): the other entries add files
// to the defaults, and '!' entries after it remove some.
inline constexpr std::string_view kDefaultInputs = "$TURBO_DEFAULT$";

struct InputQuery {
  std::string package_dir;                   // relative to the workspace root; "" = root
  std::vector<std::string> inputs;           // globs relative to package_dir; empty = default
  std::vector<std::string> outputs;          // output globs: never inputs
  std::vector<std::string> nested_packages;  // package dirs relative to package_dir, left out
                                             // of default inputs (e.g. every package, for root)
};

struct InputListing {
  InputSource source = InputSource::kGit;
  std::vector<std::string> files;  // relative to package_dir, '/'-separated, sorted
};

class InputEnumerator {
 public:
  // `workspace_root` is absolute. `git` must outlive this object.
  InputEnumerator(std::string workspace_root, GitLister& git);

  // Fails on an invalid glob or package dir (kInvalidArgument), when git
  // fails, or when a directory cannot be listed. A git-listed file deleted
  // from the work tree is still listed; hashing leaves it out.
  Result<InputListing> List(const InputQuery& query);

  // For each of `paths` (relative to the workspace root), the identity
  // git's index vouches for (GitFile::clean_id), else nullopt: the file
  // must be read. All nullopt outside git. Fails when git fails.
  Result<std::vector<std::optional<FileDigest>>> IndexDigests(const std::vector<std::string>& paths);

  const std::string& workspace_root() const { return root_; }

 private:
  // The workspace's git listing, sorted by path; nullopt outside git. Runs
  // git on the first call only.
  Result<const std::optional<std::vector<GitFile>>*> GitFiles();
  // The package's default inputs: what git tracks or would track (else
  // every file), minus nested packages; sets *source to where they came from.
  Result<std::vector<std::string>> DefaultFiles(const InputQuery& query, const std::string& package_root,
                                                InputSource* source);

  const std::string root_;
  GitLister& git_;
  std::mutex mu_;
  bool listed_ = false;                                 // GUARDED_BY(mu_)
  Status list_error_;                                   // GUARDED_BY(mu_)
  std::optional<std::vector<GitFile>> git_files_;  // GUARDED_BY(mu_), immutable once listed_
};

// kInvalidArgument unless `dir` is "" or a relative '/'-separated path
// without "." or ".." segments and without a trailing '/'.
Status CheckPackageDir(std::string_view dir);

}  // namespace cellar::taskhash
