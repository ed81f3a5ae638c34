// Test-only helpers for the task-hash tests: running real git in a
// temporary tree (the GitLsFilesLister tests and the gitignore behaviour
// need the real program).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "env/subprocess.h"
#include "tasks/hash/git_lister.h"
#include "testing/temp_tree.h"

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

// The file named `path` in `files`, or null.
inline const GitFile* FindGitFile(const std::vector<GitFile>& files, const std::string& path) {
  for (const GitFile& f : files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

// A repository with every kind of entry the listers tell apart. Committed:
// .gitignore ("dist/", "*.log"), src/{a,gone,edited,staged,hidden,sparse}.ts,
// an executable bin/run.sh, pkg/b/index.js, a path with spaces under pkg/b,
// and the symlink src/link.ts. Then: untracked src/new.ts and a name with a
// newline, ignored dist/out.js and debug.log, src/intent.ts added with -N,
// src/gone.ts deleted, src/edited.ts edited (same size, at once),
// src/staged.ts edited and staged, src/hidden.ts edited behind
// assume-unchanged, src/sparse.ts marked skip-worktree.
inline void MakeEveryKindOfEntryRepository(cellar::testing::TempTree& tree) {
  ASSERT_FALSE(tree.root().empty());
  ASSERT_TRUE(tree.Write(".gitignore", "dist/\n*.log\n"));
  ASSERT_TRUE(tree.Write("src/a.ts", "a"));
  ASSERT_TRUE(tree.Write("src/gone.ts", "deleted later"));
  ASSERT_TRUE(tree.Write("src/edited.ts", "before"));
  ASSERT_TRUE(tree.Write("src/staged.ts", "before"));
  ASSERT_TRUE(tree.Write("src/hidden.ts", "before"));
  ASSERT_TRUE(tree.Write("src/sparse.ts", "skip-worktree"));
  ASSERT_TRUE(tree.Write("bin/run.sh", "#!/bin/sh\n"));
  ASSERT_EQ(::chmod(tree.Path("bin/run.sh").c_str(), 0755), 0);
  ASSERT_TRUE(tree.Write("pkg/b/index.js", "b"));
  ASSERT_TRUE(tree.Write("pkg/b/deep/er/path/with a space.js", "deep"));
  ASSERT_TRUE(tree.Symlink("a.ts", "src/link.ts"));
  ASSERT_TRUE(RunGit(tree.root(), {"init", "-q"}));
  ASSERT_TRUE(RunGit(tree.root(), {"add", "."}));
  ASSERT_TRUE(RunGit(tree.root(), {"commit", "-q", "-m", "init"}));
  ASSERT_TRUE(tree.Write("src/new.ts", "untracked"));
  ASSERT_TRUE(tree.Write("dist/out.js", "ignored"));
  ASSERT_TRUE(tree.Write("debug.log", "ignored"));
  ASSERT_TRUE(tree.Write("name with\nnewline", "odd names survive -z"));
  ASSERT_TRUE(tree.Write("src/intent.ts", "added with -N"));
  ASSERT_TRUE(RunGit(tree.root(), {"add", "-N", "src/intent.ts"}));
  ASSERT_TRUE(tree.Remove("src/gone.ts"));
  ASSERT_TRUE(tree.Write("src/edited.ts", "after!"));
  ASSERT_TRUE(tree.Write("src/staged.ts", "staged"));
  ASSERT_TRUE(RunGit(tree.root(), {"add", "src/staged.ts"}));
  ASSERT_TRUE(RunGit(tree.root(), {"update-index", "--assume-unchanged", "src/hidden.ts"}));
  ASSERT_TRUE(RunGit(tree.root(), {"update-index", "--skip-worktree", "src/sparse.ts"}));
  ASSERT_TRUE(tree.Write("src/hidden.ts", "secret"));
}

// A repository in the middle of a merge whose only file, f.txt, conflicts.
inline void MakeConflictedRepository(cellar::testing::TempTree& tree) {
  ASSERT_TRUE(tree.Write("f.txt", "base\n"));
  ASSERT_TRUE(RunGit(tree.root(), {"init", "-q"}));
  ASSERT_TRUE(RunGit(tree.root(), {"add", "."}));
  ASSERT_TRUE(RunGit(tree.root(), {"commit", "-q", "-m", "base"}));
  ASSERT_TRUE(RunGit(tree.root(), {"checkout", "-q", "-b", "other"}));
  ASSERT_TRUE(tree.Write("f.txt", "other\n"));
  ASSERT_TRUE(RunGit(tree.root(), {"commit", "-q", "-am", "other"}));
  ASSERT_TRUE(RunGit(tree.root(), {"checkout", "-q", "main"}));
  ASSERT_TRUE(tree.Write("f.txt", "main\n"));
  ASSERT_TRUE(RunGit(tree.root(), {"commit", "-q", "-am", "main"}));
  ASSERT_FALSE(RunGit(tree.root(), {"merge", "-q", "other"}));  // conflicts
}

}  // namespace cellar::taskhash
