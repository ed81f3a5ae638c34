#include "http/router.h"

#include <gtest/gtest.h>

namespace cellar::http {
namespace {

TEST(RouterTest, LongestPrefixWins) {
  Router r;
  Handler h = [](Exchange&) -> boost::asio::awaitable<void> { co_return; };
  r.Add("/bazel/", "bazel", h);
  r.Add("/bazel/special/", "special", h);
  r.Add("/healthz", "healthz", h);
  EXPECT_EQ(r.Match("/bazel/ac/x")->name, "bazel");
  EXPECT_EQ(r.Match("/bazel/special/x")->name, "special");
  EXPECT_EQ(r.Match("/healthz")->name, "healthz");
  EXPECT_EQ(r.Match("/healthzzz"), nullptr);
  EXPECT_EQ(r.Match("/nope"), nullptr);
}

}  // namespace
}  // namespace cellar::http
