#include "server/node_id.h"

#include <gtest/gtest.h>

namespace cellar::server {
namespace {

TEST(NodeIdTest, DefaultIsTheHostAndAStableHashOfTheDataDir) {
  const std::string a = DefaultNodeId("ci-runner-7", "/var/lib/cellar");
  EXPECT_EQ(a, DefaultNodeId("ci-runner-7", "/var/lib/cellar"));  // the same after a restart
  EXPECT_TRUE(a.starts_with("ci-runner-7-")) << a;
  EXPECT_EQ(a.size(), std::string("ci-runner-7-").size() + 8);
  EXPECT_NE(a, DefaultNodeId("ci-runner-7", "/var/lib/cellar2"));  // two nodes on one host differ
  EXPECT_TRUE(ValidateNodeId(a).ok());
  // A host name with characters a label cannot hold still gives a valid id.
  EXPECT_TRUE(ValidateNodeId(DefaultNodeId("weird host\"name", "/d")).ok());
  EXPECT_TRUE(ValidateNodeId(DefaultNodeId("", "/d")).ok());
}

TEST(NodeIdTest, ConfiguredIdsAreChecked) {
  EXPECT_TRUE(ValidateNodeId("eu-west-1a:node-3").ok());
  EXPECT_FALSE(ValidateNodeId("").ok());
  EXPECT_FALSE(ValidateNodeId(std::string(65, 'n')).ok());
  EXPECT_FALSE(ValidateNodeId("node 3").ok());
  EXPECT_FALSE(ValidateNodeId("node\"3").ok());
  EXPECT_EQ(ResolveNodeId("given", "/whatever"), "given");
  EXPECT_TRUE(ValidateNodeId(ResolveNodeId("", "relative/dir")).ok());
}

}  // namespace
}  // namespace cellar::server
