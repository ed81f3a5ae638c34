// Test-only helpers for the task-hash tests: running real git in a
// temporary tree (the GitLsFilesLister tests and the gitignore behaviour
// need the real program).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "env/subprocess.h"

namespace cellar::taskhash {

// Runs `git <args>` in `dir` with a fixed identity; true on exit 0.
inline bool RunGit(const std::string& dir, std::vector<std::string> args) {
  env::SubprocessOptions options;
  options.argv = {"git", "-c", "user.name=cellar-test", "-c", "user.email=test@cellar.invalid",
                  "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.env = env::CurrentEnvironment({"GIT_"}, {});
  options.cwd = dir;
  Result<env::RunResult> run = env::RunSubprocess(options, "", std::chrono::seconds(60));
  return run.ok() && run->exit_code == 0;
}

}  // namespace cellar::taskhash
