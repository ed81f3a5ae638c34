#include "protocols/goproxy/module_pattern.h"

#include <gtest/gtest.h>

namespace cellar::goproxy {
namespace {

TEST(GlobMatchTest, BehavesLikePathMatch) {
  EXPECT_TRUE(GlobMatch("abc", "abc"));
  EXPECT_FALSE(GlobMatch("abc", "abd"));
  EXPECT_TRUE(GlobMatch("a*", "abc"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("a*", "ab/c"));  // '*' never crosses '/'
  EXPECT_TRUE(GlobMatch("a*/b", "abc/b"));
  EXPECT_TRUE(GlobMatch("a*b*c*d*e*/f", "axbxcxdxe/f"));
  EXPECT_FALSE(GlobMatch("a*b*c*d*e*/f", "axbxcxdxexxx/fff"));
  EXPECT_TRUE(GlobMatch("a?c", "abc"));
  EXPECT_FALSE(GlobMatch("a?c", "a/c"));
  EXPECT_TRUE(GlobMatch("[a-c]x", "bx"));
  EXPECT_FALSE(GlobMatch("[^a-c]x", "bx"));
  EXPECT_TRUE(GlobMatch("[^a-c]x", "dx"));
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
  EXPECT_FALSE(GlobMatch("[a-", "a"));  // malformed
  EXPECT_FALSE(GlobMatch("a\\", "a"));
}

TEST(ModulePatternsTest, MatchesLeadingElements) {
  auto p = ModulePatterns::Parse("corp.example/*, git.internal ,*.private.test");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->globs().size(), 3u);
  EXPECT_TRUE(p->Matches("corp.example/team"));
  EXPECT_TRUE(p->Matches("corp.example/team/repo/v2"));
  EXPECT_FALSE(p->Matches("corp.example"));  // fewer elements than the glob
  EXPECT_TRUE(p->Matches("git.internal"));
  EXPECT_TRUE(p->Matches("git.internal/x/y"));
  EXPECT_FALSE(p->Matches("git.internal.evil/x"));
  EXPECT_TRUE(p->Matches("a.private.test/m"));
  EXPECT_FALSE(p->Matches("github.com/corp.example/x"));
  EXPECT_FALSE(p->Matches("example.test/m01"));
}

TEST(ModulePatternsTest, CaseMatters) {
  auto p = ModulePatterns::Parse("github.com/Azure");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Matches("github.com/Azure/sdk"));
  EXPECT_FALSE(p->Matches("github.com/azure/sdk"));
}

TEST(ModulePatternsTest, EmptyAndMalformed) {
  auto empty = ModulePatterns::Parse(" , ");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(empty->Matches("x"));
  EXPECT_FALSE(ModulePatterns::Parse("corp/[x").ok());
}

}  // namespace
}  // namespace cellar::goproxy
