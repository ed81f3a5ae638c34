#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "glob/glob.h"
#include "testing/temp_tree.h"

namespace cellar::glob {
namespace {

using Paths = std::vector<std::string>;

class ExpandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tree_.root().empty());
    for (const char* file : {"package.json", "src/index.ts", "src/util/a.ts", "src/util/a.test.ts",
                             "src/.env", "dist/main.js", "dist/cache/x.bin",
                             "node_modules/dep/index.js", ".git/HEAD", "README.md"}) {
      ASSERT_TRUE(tree_.Write(file, file));
    }
    ASSERT_TRUE(tree_.Mkdir("empty/nested"));
  }

  Paths Run(const std::vector<std::string>& patterns, const ExpandOptions& options = {}) {
    Result<PatternSet> set = PatternSet::Parse(patterns);
    EXPECT_TRUE(set.ok()) << set.status().ToString();
    if (!set.ok()) return {};
    Result<Paths> paths = Expand(tree_.root(), *set, options);
    EXPECT_TRUE(paths.ok()) << paths.status().ToString();
    return paths.ok() ? *paths : Paths{};
  }

  cellar::testing::TempTree tree_;
};

TEST_F(ExpandTest, GlobstarListsEveryFileSorted) {
  EXPECT_EQ(Run({"**"}), (Paths{".git/HEAD", "README.md", "dist/cache/x.bin", "dist/main.js",
                                "node_modules/dep/index.js", "package.json", "src/.env",
                                "src/index.ts", "src/util/a.test.ts", "src/util/a.ts"}));
}

TEST_F(ExpandTest, SkipDirNamesAreNeverEntered) {
  ExpandOptions options;
  options.skip_dir_names = {".git", "node_modules"};
  EXPECT_EQ(Run({"**"}, options), (Paths{"README.md", "dist/cache/x.bin", "dist/main.js",
                                         "package.json", "src/.env", "src/index.ts",
                                         "src/util/a.test.ts", "src/util/a.ts"}));
  // Even a pattern naming the skipped directory does not reach into it.
  EXPECT_EQ(Run({"node_modules/**"}, options), Paths{});
}

TEST_F(ExpandTest, ExclusionsAndOrdering) {
  EXPECT_EQ(Run({"src/**/*.ts", "!**/*.test.ts"}), (Paths{"src/index.ts", "src/util/a.ts"}));
  EXPECT_EQ(Run({"!**/*.test.ts", "src/**/*.ts"}),
            (Paths{"src/index.ts", "src/util/a.test.ts", "src/util/a.ts"}));
}

TEST_F(ExpandTest, DirectoryPatternSelectsEverythingBeneath) {
  EXPECT_EQ(Run({"dist"}), (Paths{"dist/cache/x.bin", "dist/main.js"}));
  EXPECT_EQ(Run({"dist/"}), (Paths{"dist/cache/x.bin", "dist/main.js"}));
  EXPECT_EQ(Run({"dist", "!dist/cache"}), Paths{"dist/main.js"});
  ExpandOptions no_descend;
  no_descend.descend_matched_dirs = false;
  EXPECT_EQ(Run({"dist"}, no_descend), Paths{});
  EXPECT_EQ(Run({"dist/*"}, no_descend), Paths{"dist/main.js"});
}

TEST_F(ExpandTest, DirectoriesOption) {
  ExpandOptions options;
  options.files = false;
  options.directories = true;
  options.descend_matched_dirs = false;
  EXPECT_EQ(Run({"*"}, options),
            (Paths{".git", "dist", "empty", "node_modules", "src"}));
  EXPECT_EQ(Run({"src/*", "empty/*"}, options), (Paths{"empty/nested", "src/util"}));
  // Empty directories are listed as directories, never as files.
  EXPECT_EQ(Run({"empty/**"}), Paths{});
  options.files = true;
  EXPECT_EQ(Run({"empty/**"}, options), (Paths{"empty", "empty/nested"}));
}

TEST_F(ExpandTest, SymlinksAreListedAsFilesAndNeverFollowed) {
  ASSERT_TRUE(tree_.Symlink("src", "link-to-dir"));
  ASSERT_TRUE(tree_.Symlink("README.md", "src/link-to-file"));
  ASSERT_TRUE(tree_.Symlink("/nonexistent/target", "dangling"));
  ASSERT_TRUE(tree_.Symlink("..", "src/loop"));
  Paths all = Run({"**"});
  EXPECT_NE(std::find(all.begin(), all.end(), "link-to-dir"), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), "src/link-to-file"), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), "dangling"), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), "src/loop"), all.end());
  for (const std::string& path : all) {
    EXPECT_NE(path.rfind("link-to-dir/", 0), 0u) << "followed the symlink: " << path;
    EXPECT_NE(path.rfind("src/loop/", 0), 0u) << "followed the symlink: " << path;
  }
  ExpandOptions dirs;
  dirs.files = false;
  dirs.directories = true;
  EXPECT_EQ(Run({"link-to-dir"}, dirs), Paths{});
}

TEST_F(ExpandTest, PrunesDirectoriesThatCannotMatch) {
  // An unreadable directory outside the patterns is never opened.
  ASSERT_TRUE(tree_.Write("locked/secret", "x"));
  ASSERT_EQ(::chmod(tree_.Path("locked").c_str(), 0), 0);
  bool root_user = ::geteuid() == 0;
  EXPECT_EQ(Run({"src/util/*.ts"}), (Paths{"src/util/a.test.ts", "src/util/a.ts"}));
  Result<PatternSet> all = PatternSet::Parse({"**"});
  ASSERT_TRUE(all.ok());
  Result<Paths> paths = Expand(tree_.root(), *all);
  if (!root_user) {
    ASSERT_FALSE(paths.ok());
    EXPECT_NE(paths.status().message().find("locked"), std::string::npos);
  }
  ASSERT_EQ(::chmod(tree_.Path("locked").c_str(), 0755), 0);
}

TEST_F(ExpandTest, MissingRootIsNotFound) {
  Result<PatternSet> set = PatternSet::Parse({"**"});
  ASSERT_TRUE(set.ok());
  Result<Paths> paths = Expand(tree_.Path("no-such-dir"), *set);
  ASSERT_FALSE(paths.ok());
  EXPECT_EQ(paths.status().code(), Code::kNotFound);
}

TEST_F(ExpandTest, EmptySetSelectsNothing) { EXPECT_EQ(Run({}), Paths{}); }

TEST_F(ExpandTest, OutputIsSortedBytewise) {
  ASSERT_TRUE(tree_.Write("z/B", ""));
  ASSERT_TRUE(tree_.Write("z/a-b", ""));
  ASSERT_TRUE(tree_.Write("z/a/c", ""));
  EXPECT_EQ(Run({"z"}), (Paths{"z/B", "z/a-b", "z/a/c"}));
}

}  // namespace
}  // namespace cellar::glob
