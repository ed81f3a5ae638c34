#include "base/status.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace cellar {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, CarriesCodeAndMessage) {
  Status s = Status::NotFound("blob abc");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.ToString(), "NotFound: blob abc");
  EXPECT_EQ(s.WithContext("open").message(), "open: blob abc");
}

TEST(StatusTest, FromErrnoMapsDiskFull) {
  EXPECT_EQ(Status::FromErrno(ENOSPC, "write").code(), Code::kResourceExhausted);
  EXPECT_EQ(Status::FromErrno(ENOENT, "open").code(), Code::kNotFound);
}

Result<int> Half(int v) {
  if (v % 2) return Status::InvalidArgument("odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  CELLAR_ASSIGN_OR_RETURN(int h, Half(v));
  return Half(h);
}

TEST(ResultTest, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace cellar
