// The Nx remote-cache API (/nx/[prefix/]v1/cache/<hash>) in-process: the
// status codes the Nx client depends on, authorization and prefixes. The
// real Nx client runs in tests/integration/nx_test.sh.
#include <gtest/gtest.h>

#include "protocols/nx/nx_adapter.h"
#include "testing/adapter_fixture.h"

namespace cellar::nx {
namespace {

using testing::kElsewhereToken;
using testing::kReaderToken;
using testing::kWriterToken;

class NxHandlerTest : public testing::AdapterFixture {
 protected:
  NxHandlerTest() { Add(std::make_unique<NxAdapter>(ctx_, registry_)); }
  static std::string Cache(std::string_view hash) { return "/nx/v1/cache/" + std::string(hash); }
};

TEST_F(NxHandlerTest, PutIsExactly200ThenFirstWriteWinsWith409) {
  auto r = Put(Cache("1234567890123"), "first nx body", kWriterToken, {{"Content-Type", "application/octet-stream"}});
  EXPECT_EQ(r.status, 200u) << r.body;
  r = Put(Cache("1234567890123"), "second nx body, different");
  EXPECT_EQ(r.status, 409u);
  r = Get(Cache("1234567890123"), kWriterToken, {{"Accept", "application/octet-stream"}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "first nx body");
  EXPECT_EQ(Get(Cache("98765432109876543210")).status, 404u);
  EXPECT_EQ(Get("/nx//v1/cache/1234567890123").status, 200u);
}

TEST_F(NxHandlerTest, AuthMatrix) {
  ASSERT_EQ(Put(Cache("111"), "x").status, 200u);
  // Nx shows the reason of a 401 only with a Content-Type of exactly text/plain.
  auto r = harness_.Get(Cache("111"));
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.Header("Content-Type"), "text/plain");
  EXPECT_TRUE(r.Header("WWW-Authenticate").has_value());
  EXPECT_EQ(Get(Cache("111"), "not-a-token-at-all").status, 401u);
  EXPECT_EQ(harness_.Put(Cache("666666666"), "x").status, 401u);
  EXPECT_EQ(Get(Cache("111"), kReaderToken).status, 200u);
  // A read-only token on a PR build: 403, the body read, nothing stored, the
  // connection kept.
  r = Put(Cache("555555555"), "x", kReaderToken);
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(r.Header("Content-Type"), "text/plain");
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(Get(Cache("555555555"), kReaderToken).status, 404u);
  EXPECT_EQ(Get(Cache("111"), kElsewhereToken).status, 403u);
  EXPECT_EQ(Put(Cache("777"), "x", kElsewhereToken).status, 403u);
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(NxHandlerTest, MethodMatrix) {
  auto r = harness_.Delete(Cache("111"), As(kWriterToken));
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.Header("Allow"), "GET, PUT");
  EXPECT_EQ(Post(Cache("111"), "x").status, 405u);
  EXPECT_EQ(harness_.Send("BREW", Cache("111"), As(kWriterToken)).status, 501u);
  ASSERT_EQ(Put(Cache("222"), "twelve bytes").status, 200u);
  r = Head(Cache("222"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.Header("Content-Length"), "12");
}

TEST_F(NxHandlerTest, BadHashesAre400) {
  for (const std::string& bad : std::vector<std::string>{"abc-def", "abc.def", "12%2F34", "%2e%2e", "12%20", std::string(200, '1')}) {
    EXPECT_EQ(Get(Cache(bad)).status, 400u) << bad;
    EXPECT_EQ(Put(Cache(bad), "x").status, 400u) << bad;
  }
  EXPECT_EQ(Get("/nx/v2/cache/123").status, 400u);
  EXPECT_EQ(Entries(), 0u);
}

TEST_F(NxHandlerTest, APrefixIsANamespaceOfItsOwn) {
  ASSERT_EQ(Put("/nx/team-a/v1/cache/123", "team a").status, 200u);
  EXPECT_EQ(Get(Cache("123")).status, 404u);
  EXPECT_EQ(Read("nx/team-a", "123"), "team a");
}

TEST_F(NxHandlerTest, TooLargeIs403SoNxCarriesOn) {
  auto r = Put(Cache("999"), std::string(kMaxEntryBytes + 1, 'x'));
  EXPECT_EQ(r.status, 403u) << r.body;
  EXPECT_EQ(Get(Cache("999")).status, 404u);
}

}  // namespace
}  // namespace cellar::nx
