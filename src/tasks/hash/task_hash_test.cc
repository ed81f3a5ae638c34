#include "tasks/hash/task_hash.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "tasks/hash/fake_git_lister.h"
#include "tasks/hash/hash_test_util.h"
#include "testing/temp_tree.h"

namespace cellar::taskhash {
namespace {

using Files = std::vector<std::pair<std::string, std::string>>;

const Files& SampleFiles() {
  static const Files files = {
      {"package.json", "{\"name\":\"root\"}"},
      {"apps/web/package.json", "{\"name\":\"web\"}"},
      {"apps/web/src/index.ts", "export const x = 1;\n"},
      {"apps/web/src/deep/util.ts", "export const y = 2;\n"},
      {"packages/core/src/core.ts", "core"},
  };
  return files;
}

TaskHashInput WebBuild() {
  TaskHashInput input;
  input.task_id = "web#build";
  input.package_dir = "apps/web";
  input.command = "tsc -p .";
  input.outputs = {"dist/**"};
  input.global_hash = "0123456789abcdef0123456789abcdef";
  return input;
}

// One workspace in a temp dir, hashed outside git (walk) unless a test
// creates a repository and uses the real lister.
class Workspace {
 public:
  explicit Workspace(const Files& files) {
    for (const auto& [path, content] : files) ok_ = ok_ && tree_.Write(path, content);
  }
  bool ok() const { return ok_ && !tree_.root().empty(); }
  cellar::testing::TempTree& tree() { return tree_; }

  Result<TaskHash> Hash(const TaskHashInput& input, GitLister* git = nullptr) {
    FileHasher files;
    TaskHasher hasher(tree_.root(), git != nullptr ? *git : no_git_, files);
    return hasher.Hash(input);
  }
  std::string MustHash(const TaskHashInput& input, GitLister* git = nullptr) {
    Result<TaskHash> hash = Hash(input, git);
    EXPECT_TRUE(hash.ok()) << hash.status().ToString();
    return hash.ok() ? hash->hex : "";
  }

 private:
  cellar::testing::TempTree tree_;
  FakeGitLister no_git_;
  bool ok_ = true;
};

TEST(TaskHashTest, HashIsHexOfFixedLength) {
  Workspace ws(SampleFiles());
  ASSERT_TRUE(ws.ok());
  std::string hex = ws.MustHash(WebBuild());
  EXPECT_EQ(hex.size(), kHashBytes * 2);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(TaskHashTest, StableAcrossCheckoutsAtDifferentPathsAndCreationOrder) {
  Workspace a(SampleFiles());
  Files reversed = SampleFiles();
  std::reverse(reversed.begin(), reversed.end());
  reversed.insert(reversed.begin(), {"apps/web/zzz-tmp", "x"});  // changes directory order
  Workspace b(reversed);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(b.tree().Remove("apps/web/zzz-tmp"));
  ASSERT_NE(a.tree().root(), b.tree().root());
  Result<TaskHash> ha = a.Hash(WebBuild());
  Result<TaskHash> hb = b.Hash(WebBuild());
  ASSERT_TRUE(ha.ok() && hb.ok());
  EXPECT_EQ(ha->hex, hb->hex);
  EXPECT_EQ(ha->manifest.files, hb->manifest.files);
  EXPECT_EQ(ha->manifest.files.size(), 3u);
}

TEST(TaskHashTest, StableWhenTheGitListingComesInAnotherOrder) {
  Workspace ws(SampleFiles());
  ASSERT_TRUE(ws.ok());
  std::vector<std::string> listing;
  for (const auto& [path, content] : SampleFiles()) listing.push_back(path);
  FakeGitLister forward;
  forward.SetFiles(ws.tree().root(), listing);
  std::shuffle(listing.begin(), listing.end(), std::mt19937(42));
  std::reverse(listing.begin(), listing.end());
  FakeGitLister shuffled;
  shuffled.SetFiles(ws.tree().root(), listing);
  EXPECT_EQ(ws.MustHash(WebBuild(), &forward), ws.MustHash(WebBuild(), &shuffled));
}

TEST(TaskHashTest, OneChangedByteChangesTheHash) {
  Workspace ws(SampleFiles());
  ASSERT_TRUE(ws.ok());
  std::string before = ws.MustHash(WebBuild());
  ASSERT_TRUE(ws.tree().Write("apps/web/src/deep/util.ts", "export const y = 3;\n"));
  std::string after = ws.MustHash(WebBuild());
  EXPECT_NE(before, after);
  // A file of another package changes nothing here.
  ASSERT_TRUE(ws.tree().Write("packages/core/src/core.ts", "changed"));
  EXPECT_EQ(ws.MustHash(WebBuild()), after);
  // Nor does an output.
  ASSERT_TRUE(ws.tree().Write("apps/web/dist/index.js", "built"));
  EXPECT_EQ(ws.MustHash(WebBuild()), after);
}

TEST(TaskHashTest, RenamingAFileChangesTheHash) {
  Workspace ws(SampleFiles());
  ASSERT_TRUE(ws.ok());
  std::string before = ws.MustHash(WebBuild());
  ASSERT_EQ(::rename(ws.tree().Path("apps/web/src/index.ts").c_str(),
                     ws.tree().Path("apps/web/src/main.ts").c_str()),
            0);
  EXPECT_NE(ws.MustHash(WebBuild()), before);
}

TEST(TaskHashTest, ExecutableBitChangesTheHash) {
  Workspace ws(SampleFiles());
  ASSERT_TRUE(ws.ok());
  std::string before = ws.MustHash(WebBuild());
  ASSERT_EQ(::chmod(ws.tree().Path("apps/web/src/index.ts").c_str(), 0755), 0);
  EXPECT_NE(ws.MustHash(WebBuild()), before);
}

TEST(TaskHashTest, EnvValuesCountAndUnsetDiffersFromEmpty) {
  Workspace ws(SampleFiles());
  ASSERT_TRUE(ws.ok());
  TaskHashInput input = WebBuild();
  input.env = {{"API_URL", "https://a.example"}, {"MODE", std::nullopt}};
  std::string base = ws.MustHash(input);
  TaskHashInput reordered = input;
  std::reverse(reordered.env.begin(), reordered.env.end());
  EXPECT_EQ(ws.MustHash(reordered), base);
  TaskHashInput changed = input;
  changed.env[0].value = "https://b.example";
  EXPECT_NE(ws.MustHash(changed), base);
  TaskHashInput empty = input;
  empty.env[1].value = "";
  EXPECT_NE(ws.MustHash(empty), base);
}

TEST(TaskHashTest, DependencyHashesCount) {
  Workspace ws(SampleFiles());
  ASSERT_TRUE(ws.ok());
  TaskHashInput input = WebBuild();
  input.dependency_hashes = {{"core#build", "aaaa"}, {"ui#build", "bbbb"}};
  std::string base = ws.MustHash(input);
  TaskHashInput reordered = input;
  std::reverse(reordered.dependency_hashes.begin(), reordered.dependency_hashes.end());
  EXPECT_EQ(ws.MustHash(reordered), base);
  TaskHashInput changed = input;
  changed.dependency_hashes[1].second = "cccc";
  EXPECT_NE(ws.MustHash(changed), base);
  TaskHashInput global = input;
  global.global_hash = "ffffffffffffffffffffffffffffffff";
  EXPECT_NE(ws.MustHash(global), base);
  TaskHashInput command = input;
  command.command = "tsc -p . --strict";
  EXPECT_NE(ws.MustHash(command), base);
}

TEST(TaskHashTest, SymlinkInputHashesItsTargetString) {
  Workspace ws(SampleFiles());
  ASSERT_TRUE(ws.ok());
  ASSERT_TRUE(ws.tree().Write("shared/config.json", "v1"));
  ASSERT_TRUE(ws.tree().Symlink("../../shared/config.json", "apps/web/config.json"));
  std::string base = ws.MustHash(WebBuild());
  // The target's content is not an input of this package; the link is.
  ASSERT_TRUE(ws.tree().Write("shared/config.json", "v2"));
  EXPECT_EQ(ws.MustHash(WebBuild()), base);
  ASSERT_TRUE(ws.tree().Remove("apps/web/config.json"));
  ASSERT_TRUE(ws.tree().Symlink("../../shared/other.json", "apps/web/config.json"));
  EXPECT_NE(ws.MustHash(WebBuild()), base);
}

class GitTaskHashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ws_.ok());
    ASSERT_TRUE(ws_.tree().Write(".gitignore", "*.log\n.env.local\n"));
    ASSERT_TRUE(RunGit(root(), {"init", "-q"}));
    ASSERT_TRUE(RunGit(root(), {"add", "."}));
    ASSERT_TRUE(RunGit(root(), {"commit", "-q", "-m", "init"}));
  }
  const std::string& root() { return ws_.tree().root(); }

  Workspace ws_{SampleFiles()};
  env::SystemProcessRunner runner_;
  GitLsFilesLister git_{runner_};
};

TEST_F(GitTaskHashTest, IgnoredFilesAreNotInputs) {
  std::string base = ws_.MustHash(WebBuild(), &git_);
  ASSERT_TRUE(ws_.tree().Write("apps/web/debug.log", "noise"));
  ASSERT_TRUE(ws_.tree().Write("apps/web/.env.local", "SECRET=1"));
  EXPECT_EQ(ws_.MustHash(WebBuild(), &git_), base);
}

TEST_F(GitTaskHashTest, UntrackedButNotIgnoredFilesAreInputs) {
  std::string base = ws_.MustHash(WebBuild(), &git_);
  ASSERT_TRUE(ws_.tree().Write("apps/web/src/new.ts", "new"));
  Result<TaskHash> hash = ws_.Hash(WebBuild(), &git_);
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_NE(hash->hex, base);
  EXPECT_EQ(hash->manifest.input_source, InputSource::kGit);
  bool listed = false;
  for (const InputFile& f : hash->manifest.files) listed = listed || f.path == "src/new.ts";
  EXPECT_TRUE(listed);
}

TEST_F(GitTaskHashTest, DeletedButIndexedFileIsLikeAFileThatNeverWas) {
  ASSERT_TRUE(ws_.tree().Remove("apps/web/src/deep/util.ts"));
  Result<TaskHash> deleted = ws_.Hash(WebBuild(), &git_);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  // The same tree without git, where the file simply does not exist.
  Files without = SampleFiles();
  std::erase_if(without, [](const auto& f) { return f.first == "apps/web/src/deep/util.ts"; });
  Workspace plain(without);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(deleted->hex, plain.MustHash(WebBuild()));
}

TEST_F(GitTaskHashTest, GitAndWalkAgreeOnACleanTree) {
  // With nothing ignored present, default inputs are the same set either way,
  // so a checkout with and without .git hashes alike.
  Workspace plain(SampleFiles());
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(ws_.MustHash(WebBuild(), &git_), plain.MustHash(WebBuild()));
}

TEST_F(GitTaskHashTest, CleanTrackedFilesAreKnownFromTheIndexWithoutARead) {
  FileHasher files;
  TaskHasher hasher(root(), git_, files);
  ASSERT_TRUE(hasher.Prefetch({WebBuild()}).ok());
  Result<TaskHash> hash = hasher.Hash(WebBuild());
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(files.files_read(), 0u);
  EXPECT_EQ(hash->manifest.files.size(), 3u);
  // And the ids are the ones reading gives: the same tree without git.
  Workspace plain(SampleFiles());
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(hash->hex, plain.MustHash(WebBuild()));
}

TEST_F(GitTaskHashTest, AnEditGitHasNotSeenIsRead) {
  const std::string base = ws_.MustHash(WebBuild(), &git_);
  // Same size, right after the commit: only git's content check tells.
  ASSERT_TRUE(ws_.tree().Write("apps/web/src/index.ts", "export const x = 9;\n"));
  FileHasher files;
  TaskHasher hasher(root(), git_, files);
  Result<TaskHash> edited = hasher.Hash(WebBuild());
  ASSERT_TRUE(edited.ok()) << edited.status().ToString();
  EXPECT_NE(edited->hex, base);
  EXPECT_EQ(files.files_read(), 1u);
  Files changed = SampleFiles();
  for (auto& [path, content] : changed) {
    if (path == "apps/web/src/index.ts") content = "export const x = 9;\n";
  }
  Workspace plain(changed);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(edited->hex, plain.MustHash(WebBuild()));
  // Reverted: back to the committed hash.
  ASSERT_TRUE(ws_.tree().Write("apps/web/src/index.ts", "export const x = 1;\n"));
  EXPECT_EQ(ws_.MustHash(WebBuild(), &git_), base);
}

TEST_F(GitTaskHashTest, AssumeUnchangedDoesNotHideAnEdit) {
  const std::string base = ws_.MustHash(WebBuild(), &git_);
  ASSERT_TRUE(RunGit(root(), {"update-index", "--assume-unchanged", "apps/web/src/index.ts"}));
  ASSERT_TRUE(ws_.tree().Write("apps/web/src/index.ts", "changed behind git's back"));
  EXPECT_NE(ws_.MustHash(WebBuild(), &git_), base);
}

TEST_F(GitTaskHashTest, TheExecuteBitCountsFromTheIndexAndFromTheWorkTree) {
  const std::string base = ws_.MustHash(WebBuild(), &git_);
  ASSERT_EQ(::chmod((root() + "/apps/web/src/index.ts").c_str(), 0755), 0);
  const std::string executable = ws_.MustHash(WebBuild(), &git_);  // read: the mode changed
  EXPECT_NE(executable, base);
  ASSERT_TRUE(RunGit(root(), {"commit", "-q", "-am", "chmod"}));
  EXPECT_EQ(ws_.MustHash(WebBuild(), &git_), executable);  // from the index: 100755
}

TEST(TaskHasherTest, PrefetchHashesEveryFileOnceAndGivesTheSameHashes) {
  Workspace ws(SampleFiles());
  ASSERT_TRUE(ws.ok());
  TaskHashInput build = WebBuild();
  TaskHashInput lint = WebBuild();
  lint.task_id = "web#lint";
  lint.command = "eslint .";
  lint.outputs = {};
  FakeGitLister no_git;
  FileHasher files;
  TaskHasher hasher(ws.tree().root(), no_git, files);
  ASSERT_TRUE(hasher.Prefetch({build, lint}).ok());
  EXPECT_EQ(files.files_read(), 3u);
  Result<TaskHash> a = hasher.Hash(build);
  Result<TaskHash> b = hasher.Hash(lint);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(files.files_read(), 3u);
  EXPECT_EQ(a->hex, ws.MustHash(build));
  EXPECT_EQ(b->hex, ws.MustHash(lint));
  EXPECT_NE(a->hex, b->hex);
}

TEST(TaskHasherTest, InvalidInputGlobIsAnErrorNamingTheTask) {
  Workspace ws(SampleFiles());
  ASSERT_TRUE(ws.ok());
  TaskHashInput input = WebBuild();
  input.inputs = {"src/[oops"};
  Result<TaskHash> hash = ws.Hash(input);
  ASSERT_FALSE(hash.ok());
  EXPECT_EQ(hash.status().code(), Code::kInvalidArgument);
  EXPECT_NE(hash.status().message().find("web#build"), std::string::npos);
}

TEST(ManifestHashTest, CanonicalFormIsUnambiguous) {
  TaskManifest m;
  m.task_id = "a#b";
  m.command = "run";
  std::string base = HashTaskManifest(m);
  TaskManifest globs = m;
  globs.input_globs = {"ab"};
  TaskManifest split = m;
  split.input_globs = {"a", "b"};
  EXPECT_NE(HashTaskManifest(globs), HashTaskManifest(split));
  // Moving text between adjacent fields changes the hash.
  TaskManifest shifted = m;
  shifted.task_id = "a#";
  shifted.package_dir = "b";
  EXPECT_NE(HashTaskManifest(shifted), base);
  // Inputs vs outputs with the same glob differ.
  TaskManifest as_input = m;
  as_input.input_globs = {"dist"};
  TaskManifest as_output = m;
  as_output.outputs = {"dist"};
  EXPECT_NE(HashTaskManifest(as_input), HashTaskManifest(as_output));
  // Glob order is meaningful ('!' ordering).
  TaskManifest order1 = m;
  order1.input_globs = {"**", "!x"};
  TaskManifest order2 = m;
  order2.input_globs = {"!x", "**"};
  EXPECT_NE(HashTaskManifest(order1), HashTaskManifest(order2));
  // The version is part of the hash.
  TaskManifest v2 = m;
  v2.version = kTaskHashVersion + 1;
  EXPECT_NE(HashTaskManifest(v2), base);
}

TEST(ManifestHashTest, FileOrderDoesNotMatterButKindAndPathDo) {
  FileDigest d1;
  d1.id[0] = 1;
  FileDigest d2;
  d2.id[0] = 2;
  TaskManifest a;
  a.files = {{"x", d1}, {"y", d2}};
  TaskManifest b;
  b.files = {{"y", d2}, {"x", d1}};
  EXPECT_EQ(HashTaskManifest(a), HashTaskManifest(b));
  TaskManifest swapped;
  swapped.files = {{"x", d2}, {"y", d1}};
  EXPECT_NE(HashTaskManifest(swapped), HashTaskManifest(a));
  TaskManifest exec = a;
  exec.files[0].digest.kind = FileKind::kExecutable;
  EXPECT_NE(HashTaskManifest(exec), HashTaskManifest(a));
}

TEST(GlobalHashTest, LockfilesDefinitionsGlobalDepsAndEnvCount) {
  Workspace ws(SampleFiles());
  ASSERT_TRUE(ws.ok());
  FakeGitLister no_git;
  auto global = [&](const GlobalHashInput& input) {
    FileHasher files;
    TaskHasher hasher(ws.tree().root(), no_git, files);
    Result<GlobalHash> hash = hasher.HashGlobal(input);
    EXPECT_TRUE(hash.ok()) << hash.status().ToString();
    return hash.ok() ? *hash : GlobalHash{};
  };
  GlobalHashInput input{"pipeline:\n  build: {}\n", {"config/*.json"}, {{"CI", "1"}}};
  GlobalHash base = global(input);
  EXPECT_TRUE(base.manifest.files.empty());

  ASSERT_TRUE(ws.tree().Write("package-lock.json", "{\"lockfileVersion\":3}"));
  GlobalHash with_lock = global(input);
  EXPECT_NE(with_lock.hex, base.hex);
  ASSERT_EQ(with_lock.manifest.files.size(), 1u);
  EXPECT_EQ(with_lock.manifest.files[0].path, "package-lock.json");
  ASSERT_TRUE(ws.tree().Write("package-lock.json", "{\"lockfileVersion\":2}"));
  EXPECT_NE(global(input).hex, with_lock.hex);

  GlobalHash current = global(input);
  ASSERT_TRUE(ws.tree().Write("config/tsconfig.json", "{}"));
  GlobalHash with_dep = global(input);
  EXPECT_NE(with_dep.hex, current.hex);
  EXPECT_EQ(with_dep.manifest.files.size(), 2u);

  GlobalHashInput env = input;
  env.global_env[0].value = "2";
  EXPECT_NE(global(env).hex, with_dep.hex);
  GlobalHashInput defs = input;
  defs.task_definitions += "  test: {}\n";
  EXPECT_NE(global(defs).hex, with_dep.hex);
  EXPECT_EQ(global(input).hex, with_dep.hex);
}

}  // namespace
}  // namespace cellar::taskhash
