#include "protocols/bazel/bazel_adapter.h"

#include <gtest/gtest.h>

namespace cellar::bazel {
namespace {

const std::string kHash(64, 'a');

TEST(BazelPathTest, AcceptsAcAndCasWithOptionalInstance) {
  auto k = ParseBazelPath("cas/" + kHash);
  ASSERT_TRUE(k);
  EXPECT_TRUE(k->cas);
  EXPECT_EQ(k->ns, "bazel/cas");
  k = ParseBazelPath("my-instance/ac/" + kHash);
  ASSERT_TRUE(k);
  EXPECT_FALSE(k->cas);
}

TEST(BazelPathTest, RejectsMalformed) {
  EXPECT_FALSE(ParseBazelPath("cas/" + std::string(64, 'A')));
  EXPECT_FALSE(ParseBazelPath("cas/" + kHash.substr(1)));
  EXPECT_FALSE(ParseBazelPath("xyz/" + kHash));
  EXPECT_FALSE(ParseBazelPath("../cas/" + kHash));
  EXPECT_FALSE(ParseBazelPath("cas/" + kHash + "/extra"));
  EXPECT_FALSE(ParseBazelPath("a%2f/cas/" + kHash));
}

}  // namespace
}  // namespace cellar::bazel
