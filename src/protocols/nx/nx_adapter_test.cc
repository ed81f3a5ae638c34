#include "protocols/nx/nx_adapter.h"

#include <gtest/gtest.h>

namespace cellar::nx {
namespace {

TEST(NxPath, PlainAndPrefixed) {
  auto t = ParseNxPath("v1/cache/12695567002797499449");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ns, "nx");
  EXPECT_EQ(t->hash, "12695567002797499449");
  auto p = ParseNxPath("team-a/v1/cache/123");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ns, "nx/team-a");
}

TEST(NxPath, RejectsBadHashesAndPrefixes) {
  EXPECT_FALSE(ParseNxPath("v1/cache/"));
  EXPECT_FALSE(ParseNxPath("v1/cache/12.3"));
  EXPECT_FALSE(ParseNxPath("v1/cache/../x"));
  EXPECT_FALSE(ParseNxPath("v1/cache/" + std::string(129, '1')));
  EXPECT_FALSE(ParseNxPath("foov1/cache/123"));
  EXPECT_FALSE(ParseNxPath("../v1/cache/123"));
  EXPECT_FALSE(ParseNxPath("v2/cache/123"));
}

// The PUT matrix the Nx client depends on (it fails the run on anything but
// 200, 403 and 409 for a write).
TEST(NxPutAnswer, StatusMatrix) {
  using protocols::UploadError;
  EXPECT_EQ(NxPutAnswerFor(UploadError::kNone).status, 200u);
  EXPECT_EQ(NxPutAnswerFor(UploadError::kExists).status, 409u);
  EXPECT_EQ(NxPutAnswerFor(UploadError::kClient).status, 400u);
  EXPECT_EQ(NxPutAnswerFor(UploadError::kTooLarge).status, 403u);
  EXPECT_EQ(NxPutAnswerFor(UploadError::kStoreFull).status, 403u);
  EXPECT_EQ(NxPutAnswerFor(UploadError::kStoreFailure).status, 403u);
  EXPECT_EQ(NxPutAnswerFor(UploadError::kTooLarge).result, "refused");
  EXPECT_EQ(NxPutAnswerFor(UploadError::kStoreFailure).result, "error");
}

}  // namespace
}  // namespace cellar::nx
