#include "protocols/gradle/gradle_adapter.h"

#include <gtest/gtest.h>

namespace cellar::gradle {
namespace {

TEST(GradlePathTest, TodaysPathsStayInTheDefaultNamespace) {
  const std::string hex(32, 'a');
  for (const std::string& path : {hex, "cache/" + std::string(40, '1'), "some/prefix/" + hex}) {
    auto t = ParseGradlePath(path);
    ASSERT_TRUE(t) << path;
    EXPECT_EQ(t->ns, "gradle");
    EXPECT_EQ(t->key, path);
  }
}

// Issue 13, defect 11: every Gradle request was authorized against the one
// "gradle" namespace.
TEST(GradlePathTest, TeamBeforeCacheIsANamespace) {
  const std::string hex(32, 'b');
  auto t = ParseGradlePath("team-a/cache/" + hex);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ns, "gradle/team-a");
  EXPECT_EQ(t->key, "cache/" + hex);
  t = ParseGradlePath("org/team-b/cache/" + hex);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ns, "gradle/org/team-b");
  EXPECT_EQ(t->key, "cache/" + hex);
  t = ParseGradlePath("a/b/c/d/cache/" + hex);  // a team of 4 segments
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ns, "gradle/a/b/c/d");
}

TEST(GradlePathTest, RejectsNonHexAndTraversal) {
  EXPECT_FALSE(ParseGradlePath("cache/XYZ"));
  EXPECT_FALSE(ParseGradlePath("../" + std::string(32, 'a')));
  EXPECT_FALSE(ParseGradlePath(std::string(200, 'a')));
  EXPECT_FALSE(ParseGradlePath("a%00b/cache/" + std::string(32, 'a')));
  EXPECT_FALSE(ParseGradlePath("../cache/" + std::string(32, 'a')));
  EXPECT_FALSE(ParseGradlePath("a/b/c/d/e/cache/" + std::string(32, 'a')));  // 7 segments
}

}  // namespace
}  // namespace cellar::gradle
