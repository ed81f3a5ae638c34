#include "tasks/hash/input_files.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tasks/hash/fake_git_lister.h"
#include "testing/temp_tree.h"

namespace cellar::taskhash {
namespace {

using Paths = std::vector<std::string>;

class InputEnumeratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tree_.root().empty());
    for (const char* file :
         {"package.json", "turbo.json", "apps/web/package.json", "apps/web/src/page.tsx",
          "apps/web/dist/page.js", "apps/web/.env.local", "apps/web/node_modules/x/i.js",
          "packages/ui/src/button.tsx", "packages/ui-kit/index.ts", ".cellar/cache/abc",
          ".git/HEAD"}) {
      ASSERT_TRUE(tree_.Write(file, file));
    }
    // What git would say: .env.local, dist and node_modules are ignored.
    git_.SetFiles(tree_.root(),
                  {"turbo.json", "package.json", "apps/web/src/page.tsx", "apps/web/package.json",
                   "packages/ui/src/button.tsx", "packages/ui-kit/index.ts", "apps/web/deleted.ts",
                   ".cellar/cache/abc"});
  }

  InputListing MustList(InputEnumerator& e, const InputQuery& query) {
    Result<InputListing> listing = e.List(query);
    EXPECT_TRUE(listing.ok()) << listing.status().ToString();
    return listing.ok() ? *listing : InputListing{};
  }

  cellar::testing::TempTree tree_;
  FakeGitLister git_;
};

TEST_F(InputEnumeratorTest, DefaultInputsComeFromOneGitListingSplitByPackage) {
  InputEnumerator e(tree_.root(), git_);
  InputListing web = MustList(e, {"apps/web", {}, {"dist/**"}, {}});
  EXPECT_EQ(web.source, InputSource::kGit);
  EXPECT_EQ(web.files, (Paths{"deleted.ts", "package.json", "src/page.tsx"}));
  // "packages/ui" must not take "packages/ui-kit/..." by string prefix.
  EXPECT_EQ(MustList(e, {"packages/ui", {}, {}, {}}).files, Paths{"src/button.tsx"});
  EXPECT_EQ(MustList(e, {"packages/ui-kit", {}, {}, {}}).files, Paths{"index.ts"});
  EXPECT_EQ(git_.calls(), Paths{tree_.root()});
}

TEST_F(InputEnumeratorTest, RootPackageLeavesOutNestedPackagesAndTheCache) {
  InputEnumerator e(tree_.root(), git_);
  InputListing root = MustList(e, {"", {}, {}, {"apps/web", "packages/ui", "packages/ui-kit"}});
  EXPECT_EQ(root.files, (Paths{"package.json", "turbo.json"}));
}

TEST_F(InputEnumeratorTest, OutputsAreNeverDefaultInputs) {
  git_.SetFiles(tree_.root(), {"apps/web/dist/page.js", "apps/web/src/page.tsx"});
  InputEnumerator e(tree_.root(), git_);
  EXPECT_EQ(MustList(e, {"apps/web", {}, {"dist"}, {}}).files, Paths{"src/page.tsx"});
}

TEST_F(InputEnumeratorTest, OutsideGitEveryFileButOutputsAndSkippedDirs) {
  FakeGitLister no_git;  // answers nullopt: not a repository
  InputEnumerator e(tree_.root(), no_git);
  InputListing web = MustList(e, {"apps/web", {}, {"dist/**"}, {}});
  EXPECT_EQ(web.source, InputSource::kWalk);
  EXPECT_EQ(web.files, (Paths{".env.local", "package.json", "src/page.tsx"}));
  InputListing root = MustList(e, {"", {}, {}, {"apps/web", "packages/ui", "packages/ui-kit"}});
  EXPECT_EQ(root.files, (Paths{"package.json", "turbo.json"}));
}

TEST_F(InputEnumeratorTest, ExplicitGlobsMatchOnDiskIncludingIgnoredFiles) {
  InputEnumerator e(tree_.root(), git_);
  InputListing web = MustList(e, {"apps/web", {"src/**", ".env.*", "dist/**"}, {"dist/**"}, {}});
  EXPECT_EQ(web.source, InputSource::kGlobs);
  EXPECT_EQ(web.files, (Paths{".env.local", "src/page.tsx"}));
  EXPECT_TRUE(git_.calls().empty()) << "globs alone need no git";
  InputListing excluded = MustList(e, {"apps/web", {"**", "!**/*.json"}, {"dist"}, {}});
  EXPECT_EQ(excluded.files, (Paths{".env.local", "src/page.tsx"}));
}

TEST_F(InputEnumeratorTest, InvalidQueriesAreRefused) {
  InputEnumerator e(tree_.root(), git_);
  for (const char* dir : {"/abs", "apps/", "../x", "apps/../x", "./apps", "a//b"}) {
    auto listing = e.List({dir, {}, {}, {}});
    ASSERT_FALSE(listing.ok()) << dir;
    EXPECT_EQ(listing.status().code(), Code::kInvalidArgument);
  }
  EXPECT_FALSE(e.List({"apps/web", {"../secret"}, {}, {}}).ok());
  EXPECT_FALSE(e.List({"apps/web", {}, {"/abs"}, {}}).ok());
}

TEST_F(InputEnumeratorTest, GitFailureIsReportedToEveryCaller) {
  git_.SetError(tree_.root(), Status::Internal("git exploded"));
  InputEnumerator e(tree_.root(), git_);
  EXPECT_FALSE(e.List({"apps/web", {}, {}, {}}).ok());
  EXPECT_FALSE(e.List({"packages/ui", {}, {}, {}}).ok());
  EXPECT_EQ(git_.calls().size(), 1u);
}

}  // namespace
}  // namespace cellar::taskhash
