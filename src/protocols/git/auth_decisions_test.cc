#include "protocols/git/auth_decisions.h"

#include <gtest/gtest.h>

namespace cellar::git {
namespace {

TEST(AuthDecisions, AcceptedCredentialsAreRememberedPerRepositoryForAWhile) {
  AuthDecisions d;
  d.Accept("h/r", "Basic abc", 1000);
  EXPECT_TRUE(d.AcceptedWithin("h/r", "Basic abc", 1500, 600));
  EXPECT_FALSE(d.AcceptedWithin("h/r", "Basic abc", 1700, 600));  // too old
  EXPECT_FALSE(d.AcceptedWithin("h/r", "Basic abd", 1500, 600));  // other credential
  EXPECT_FALSE(d.AcceptedWithin("h/other", "Basic abc", 1500, 600));
  EXPECT_FALSE(d.AcceptedWithin("h/r", "", 1500, 600));  // anonymous is its own decision
}

TEST(AuthDecisions, RejectForgets) {
  AuthDecisions d;
  d.Accept("h/r", "", 1000);
  EXPECT_TRUE(d.AcceptedWithin("h/r", "", 1000, 1));
  d.Reject("h/r", "");
  EXPECT_FALSE(d.AcceptedWithin("h/r", "", 1000, 1));
}

}  // namespace
}  // namespace cellar::git
