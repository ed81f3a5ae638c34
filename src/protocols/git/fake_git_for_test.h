// Test-only: a scripted git (env::FakeProcessRunner) that behaves like a
// working git against a healthy upstream, for tests that then break one
// command at a time, and a fresh directory for a test's mirrors.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "env/fake_process_runner.h"

namespace cellar::git {

// `git init --bare -q <dir>` makes <dir> a repository; fetch, ls-remote
// (HEAD -> main), symbolic-ref and repack succeed.
inline void ScriptWorkingGitForTest(env::FakeProcessRunner& git) {
  git.SetHandler({"git", "init"}, [](const env::SubprocessOptions& o, const std::string&) {
    std::filesystem::create_directories(o.argv.back() + "/objects/pack");
    std::ofstream(o.argv.back() + "/HEAD") << "ref: refs/heads/main\n";
    return env::FakeProcessScript::Exit(0);
  });
  git.Set({"git", "fetch"}, env::FakeProcessScript::Exit(0));
  git.Set({"git", "ls-remote"}, env::FakeProcessScript::Exit(0, "ref: refs/heads/main\tHEAD\n"));
  git.Set({"git", "symbolic-ref"}, env::FakeProcessScript::Exit(0));
  git.Set({"git", "repack"}, env::FakeProcessScript::Exit(0));
}

// An empty directory named after the running test (removed first).
inline std::filesystem::path FreshTestDirForTest(const std::string& prefix) {
  auto dir = std::filesystem::temp_directory_path() /
             (prefix + "-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace cellar::git
