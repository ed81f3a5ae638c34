#include "protocols/bazel/bazel_adapter.h"

#include <gtest/gtest.h>

namespace cellar::bazel {
namespace {

const std::string kHash(64, 'a');

TEST(BazelPathTest, WithoutAnInstanceTheDefaultNamespacesAreUsed) {
  auto k = ParseBazelPath("cas/" + kHash);
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(k->cas);
  EXPECT_EQ(k->ns, "bazel/cas");
  EXPECT_EQ(k->cas_ns, "bazel/cas");
  k = ParseBazelPath("ac/" + kHash);
  ASSERT_TRUE(k.ok());
  EXPECT_FALSE(k->cas);
  EXPECT_EQ(k->ns, "bazel/ac");
  EXPECT_EQ(k->cas_ns, "bazel/cas");
}

// Issue 13, defect 11: the instance prefix was ignored, so every team shared
// one action cache and one token scope.
TEST(BazelPathTest, EachInstanceIsANamespaceOfItsOwn) {
  auto k = ParseBazelPath("team-a/ac/" + kHash);
  ASSERT_TRUE(k.ok());
  EXPECT_FALSE(k->cas);
  EXPECT_EQ(k->ns, "bazel/team-a/ac");
  EXPECT_EQ(k->cas_ns, "bazel/team-a/cas");
  k = ParseBazelPath("org/team-b/cas/" + kHash);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->ns, "bazel/org/team-b/cas");
  EXPECT_EQ(ParseBazelPath("team-b/ac/" + kHash)->ns, "bazel/team-b/ac");
}

TEST(BazelPathTest, RejectsMalformed) {
  EXPECT_FALSE(ParseBazelPath("cas/" + std::string(64, 'A')).ok());
  EXPECT_FALSE(ParseBazelPath("cas/" + kHash.substr(1)).ok());
  EXPECT_FALSE(ParseBazelPath("xyz/" + kHash).ok());
  EXPECT_FALSE(ParseBazelPath("../cas/" + kHash).ok());
  EXPECT_FALSE(ParseBazelPath("cas/" + kHash + "/extra").ok());
  EXPECT_FALSE(ParseBazelPath("a%2f/cas/" + kHash).ok());
  EXPECT_FALSE(ParseBazelPath("a%00b/cas/" + kHash).ok());
  EXPECT_FALSE(ParseBazelPath(std::string(129, 'a') + "/cas/" + kHash).ok());
  EXPECT_FALSE(ParseBazelPath("a/b/c/d/e/f/g/cas/" + kHash).ok());
  EXPECT_TRUE(ParseBazelPath("a/b/c/d/e/f/cas/" + kHash).ok());
}

TEST(BazelPathTest, InstancesMayNotNameAcOrCas) {
  // "bazel/ac" is the default action cache: an instance "ac" would put its
  // namespaces inside it, and a token for one would reach the other.
  for (std::string prefix : {"ac/", "cas/", "team/ac/", "ac/team/"}) {
    auto k = ParseBazelPath(prefix + "cas/" + kHash);
    ASSERT_FALSE(k.ok()) << prefix;
    EXPECT_NE(k.error().message().find("'ac' or 'cas'"), std::string::npos) << k.error().message();
  }
}

}  // namespace
}  // namespace cellar::bazel
