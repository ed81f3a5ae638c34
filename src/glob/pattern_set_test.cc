#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "glob/glob.h"

namespace cellar::glob {
namespace {

PatternSet S(const std::vector<std::string>& patterns) {
  Result<PatternSet> set = PatternSet::Parse(patterns);
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  return std::move(set).value();
}

TEST(PatternSetTest, EmptySetMatchesNothing) {
  PatternSet set = S({});
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.Matches("a"));
  EXPECT_FALSE(set.CouldMatchUnder(""));
  EXPECT_FALSE(PatternSet().MatchesPathOrParent("a"));
  EXPECT_FALSE(S({"a"}).empty());
}

TEST(PatternSetTest, LastMatchingPatternDecides) {
  PatternSet set = S({"src/**", "!src/**/*.test.ts", "src/keep.test.ts"});
  EXPECT_TRUE(set.Matches("src/a.ts"));
  EXPECT_FALSE(set.Matches("src/a.test.ts"));
  EXPECT_FALSE(set.Matches("src/deep/b.test.ts"));
  EXPECT_TRUE(set.Matches("src/keep.test.ts"));
  EXPECT_FALSE(set.Matches("lib/a.ts"));
}

TEST(PatternSetTest, OrderOfNegationMatters) {
  // An exclusion before the inclusion is overridden by it.
  PatternSet set = S({"!*.log", "*"});
  EXPECT_TRUE(set.Matches("debug.log"));
  PatternSet reversed = S({"*", "!*.log"});
  EXPECT_FALSE(reversed.Matches("debug.log"));
  EXPECT_TRUE(reversed.Matches("a.txt"));
  // Only exclusions select nothing.
  EXPECT_FALSE(S({"!a"}).Matches("b"));
}

TEST(PatternSetTest, EscapedBangIsLiteral) {
  PatternSet set = S({"\\!important"});
  EXPECT_TRUE(set.Matches("!important"));
  EXPECT_FALSE(set.Matches("important"));
}

TEST(PatternSetTest, InvalidMemberFailsTheSet) {
  for (std::vector<std::string> patterns :
       {std::vector<std::string>{"ok", "/abs"}, {"!"}, {"!../x"}, {"a", "!b[", ""}}) {
    Result<PatternSet> set = PatternSet::Parse(patterns);
    ASSERT_FALSE(set.ok());
    EXPECT_EQ(set.status().code(), Code::kInvalidArgument);
  }
}

TEST(PatternSetTest, DirectoryPatternsSelectEverythingBeneath) {
  PatternSet set = S({"dist", "!dist/cache"});
  EXPECT_TRUE(set.MatchesPathOrParent("dist/a.js"));
  EXPECT_TRUE(set.MatchesPathOrParent("dist/sub/b.js"));
  EXPECT_FALSE(set.MatchesPathOrParent("dist/cache/b"));
  EXPECT_FALSE(set.MatchesPathOrParent("src/a.js"));
  // Plain matching does not descend.
  EXPECT_FALSE(set.Matches("dist/a.js"));
  EXPECT_TRUE(set.Matches("dist"));
  // Re-including inside an excluded directory works when it comes later.
  PatternSet again = S({"dist", "!dist/cache", "dist/cache/keep"});
  EXPECT_TRUE(again.MatchesPathOrParent("dist/cache/keep/x"));
  EXPECT_FALSE(again.MatchesPathOrParent("dist/cache/other"));
}

TEST(PatternSetTest, CouldMatchUnderHonoursLaterExclusions) {
  PatternSet set = S({"**/*.ts", "!node_modules/**"});
  EXPECT_TRUE(set.CouldMatchUnder("src"));
  EXPECT_FALSE(set.CouldMatchUnder("node_modules"));
  EXPECT_FALSE(set.CouldMatchUnder("node_modules/x"));
  // A later inclusion re-opens the directory.
  PatternSet reopened = S({"**/*.ts", "!node_modules/**", "node_modules/keep/*.ts"});
  EXPECT_TRUE(reopened.CouldMatchUnder("node_modules"));
  EXPECT_TRUE(reopened.CouldMatchUnder("node_modules/keep"));
  EXPECT_FALSE(reopened.CouldMatchUnder("node_modules/other"));
  // An exclusion that does not cover the whole directory does not prune.
  EXPECT_TRUE(S({"**", "!src/*.js"}).CouldMatchUnder("src"));
  EXPECT_FALSE(S({"src/*.ts"}).CouldMatchUnder("lib"));
}

TEST(PatternSetTest, CouldMatchUnderPathOrParent) {
  PatternSet set = S({"dist", "!dist/cache"});
  EXPECT_TRUE(set.CouldMatchUnderPathOrParent(""));
  EXPECT_TRUE(set.CouldMatchUnderPathOrParent("dist"));
  EXPECT_TRUE(set.CouldMatchUnderPathOrParent("dist/sub"));
  EXPECT_FALSE(set.CouldMatchUnderPathOrParent("dist/cache"));
  EXPECT_FALSE(set.CouldMatchUnderPathOrParent("dist/cache/deeper"));
  EXPECT_FALSE(set.CouldMatchUnderPathOrParent("src"));
  PatternSet again = S({"dist", "!dist/cache", "dist/cache/keep"});
  EXPECT_TRUE(again.CouldMatchUnderPathOrParent("dist/cache"));
  EXPECT_TRUE(again.CouldMatchUnderPathOrParent("dist/cache/keep"));
}

}  // namespace
}  // namespace cellar::glob
