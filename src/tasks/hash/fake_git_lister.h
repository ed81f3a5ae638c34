// FakeGitLister: a scripted GitLister for tests. Answers per directory from
// what the test set, counts calls, and answers nullopt (outside git) for
// directories it was not told about.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tasks/hash/git_lister.h"

namespace cellar::taskhash {

class FakeGitLister : public GitLister {
 public:
  // Paths only: git vouches for none of them (every file is read).
  void SetFiles(const std::string& dir, const std::vector<std::string>& paths);
  void SetListing(const std::string& dir, std::vector<GitFile> files);
  void SetError(const std::string& dir, Status status);

  Result<std::optional<std::vector<GitFile>>> ListFiles(const std::string& dir) override;

  // Directories asked about, in call order.
  std::vector<std::string> calls() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Result<std::optional<std::vector<GitFile>>>> answers_;  // GUARDED_BY(mu_)
  std::vector<std::string> calls_;  // GUARDED_BY(mu_)
};

}  // namespace cellar::taskhash
