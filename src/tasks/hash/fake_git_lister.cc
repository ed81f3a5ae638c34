#include "tasks/hash/fake_git_lister.h"

namespace cellar::taskhash {

void FakeGitLister::SetFiles(const std::string& dir, const std::vector<std::string>& paths) {
  std::vector<GitFile> files;
  files.reserve(paths.size());
  for (const std::string& path : paths) files.push_back(GitFile{path, std::nullopt, false});
  SetListing(dir, std::move(files));
}

void FakeGitLister::SetListing(const std::string& dir, std::vector<GitFile> files) {
  std::lock_guard<std::mutex> lock(mu_);
  answers_.insert_or_assign(dir, std::optional<std::vector<GitFile>>(std::move(files)));
}

void FakeGitLister::SetError(const std::string& dir, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  answers_.insert_or_assign(dir, std::move(status));
}

Result<std::optional<std::vector<GitFile>>> FakeGitLister::ListFiles(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back(dir);
  auto it = answers_.find(dir);
  if (it == answers_.end()) return std::optional<std::vector<GitFile>>();
  return it->second;
}

std::vector<std::string> FakeGitLister::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

}  // namespace cellar::taskhash
