#include "tasks/config/env_expand.h"

#include <map>

#include <gtest/gtest.h>

namespace cellar::tasks {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) { return FixedEnv(std::move(vars)); }

TEST(EnvExpandTest, BracedVariablesAreReplacedAndUnsetOnesAreEmpty) {
  auto out = ExpandVariables("a-${TOKEN}-${MISSING}-b", Env({{"TOKEN", "s3cr3t"}}));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "a-s3cr3t--b");
}

TEST(EnvExpandTest, FallbackAppliesWhenUnsetOrEmpty) {
  auto env = Env({{"EMPTY", ""}, {"SET", "x"}});
  EXPECT_EQ(*ExpandVariables("${UNSET:-d1} ${EMPTY:-d2} ${SET:-d3}", env), "d1 d2 x");
}

TEST(EnvExpandTest, BareDollarIsLeftForTheShellUnlessAskedFor) {
  auto env = Env({{"f", "oops"}, {"HOME", "/home/u"}});
  EXPECT_EQ(*ExpandVariables("for f in *; do echo $f; done; echo $$", env), "for f in *; do echo $f; done; echo $$");
  EXPECT_EQ(*ExpandBareVariables("$HOME/x and ${HOME}", env), "/home/u/x and /home/u");
}

TEST(EnvExpandTest, DoubleDollarBraceIsALiteral) {
  EXPECT_EQ(*ExpandVariables("echo $${f} ${X}", Env({{"X", "1"}})), "echo ${f} 1");
}

TEST(EnvExpandTest, MalformedReferencesAreErrorsWithTheirOffset) {
  size_t at = 99;
  auto unterminated = ExpandVariables("abc ${OPEN", Env({}), &at);
  ASSERT_FALSE(unterminated.ok());
  EXPECT_EQ(at, 4u);
  EXPECT_NE(unterminated.error().message().find("unterminated"), std::string::npos);
  EXPECT_FALSE(ExpandVariables("${1BAD}", Env({})).ok());
  EXPECT_FALSE(ExpandVariables("${}", Env({})).ok());
}

}  // namespace
}  // namespace cellar::tasks
