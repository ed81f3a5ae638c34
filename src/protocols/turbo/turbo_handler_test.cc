// The Turborepo remote-cache API in-process (testing/adapter_fixture.h):
// status codes, authorization, teams, first write wins, query and events.
// The real turbo CLI runs in tests/integration/turbo_test.sh.
#include "protocols/turbo/turbo_adapter.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/adapter_fixture.h"

namespace cellar::turbo {
namespace {

using testing::kElsewhereToken;
using testing::kReaderToken;
using testing::kWriterToken;

constexpr std::string_view kArt = "/turbo/v8/artifacts";

class TurboHandlerTest : public testing::AdapterFixture {
 protected:
  TurboHandlerTest() { Add(std::make_unique<TurboAdapter>(ctx_, TurboOptions{}, registry_)); }
  static std::string Art(std::string_view rest) { return std::string(kArt) + "/" + std::string(rest); }
};

TEST_F(TurboHandlerTest, StatusNeedsNoTokenAndDoubleSlashesAreCollapsed) {
  auto r = harness_.Get(Art("status"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "{\"status\":\"enabled\"}");
  EXPECT_EQ(harness_.Get("/turbo//v8/artifacts/status").status, 200u);
}

TEST_F(TurboHandlerTest, AuthMatrix) {
  ASSERT_EQ(Put(Art("cellarauth01?slug=acme"), "body").status, 200u);
  auto r = harness_.Get(Art("cellarauth01?slug=acme"));
  EXPECT_EQ(r.status, 401u);
  EXPECT_TRUE(r.Header("WWW-Authenticate").has_value());
  EXPECT_NE(r.body.find("\"unauthorized\""), std::string::npos) << r.body;
  EXPECT_EQ(Get(Art("cellarauth01?slug=acme"), "not-a-token-at-all").status, 401u);
  EXPECT_EQ(harness_.Put(Art("cellarnotoken01?slug=acme"), "x").status, 401u);
  // A read-only token reads, never writes.
  EXPECT_EQ(Get(Art("cellarauth01?slug=acme"), kReaderToken).status, 200u);
  r = Put(Art("cellarreadonly01?slug=acme"), "x", kReaderToken);
  EXPECT_EQ(r.status, 403u);
  EXPECT_NE(r.body.find("\"forbidden\""), std::string::npos) << r.body;
  EXPECT_EQ(Get(Art("cellarreadonly01?slug=acme")).status, 404u);
  // A token for another namespace: 403 for reads and writes.
  EXPECT_EQ(Get(Art("cellarauth01?slug=acme"), kElsewhereToken).status, 403u);
  EXPECT_EQ(Put(Art("cellarauth02?slug=acme"), "x", kElsewhereToken).status, 403u);
  // Query and events need a token too.
  EXPECT_EQ(harness_.Post(std::string(kArt) + "?slug=acme", "{\"hashes\":[]}").status, 401u);
  EXPECT_EQ(harness_.Post(Art("events?slug=acme"), "[]").status, 401u);
}

TEST_F(TurboHandlerTest, MethodMatrix) {
  auto r = harness_.Delete(Art("cellarmethod01"), As(kWriterToken));
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.Header("Allow"), "GET, HEAD, PUT, OPTIONS");
  r = Get(std::string(kArt));
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.Header("Allow"), "POST");
  r = Get(Art("events"));
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.Header("Allow"), "POST");
  EXPECT_EQ(harness_.Send("BREW", Art("cellarmethod01"), As(kWriterToken)).status, 501u);
  EXPECT_EQ(Get("/turbo/v2/teams").status, 404u);
  // Preflight needs no token and lists Authorization, or turbo never sends it.
  r = harness_.Send("OPTIONS", Art("cellarmethod01?slug=acme"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.Header("Access-Control-Allow-Headers").value_or("").find("Authorization"), std::string::npos);
  EXPECT_EQ(r.Header("Location"), Art("cellarmethod01?slug=acme"));
  EXPECT_EQ(harness_.Send("OPTIONS", Art("events")).status, 200u);
}

TEST_F(TurboHandlerTest, BadHashesAreRefusedBeforeTheStore) {
  for (const std::string& bad : std::vector<std::string>{"abc.def", "abc%2Fdef", "ab%20cd", "a%2e%2e", "abc~def", std::string(200, 'a')}) {
    EXPECT_EQ(Get(Art(bad + "?slug=acme")).status, 400u) << bad;
    EXPECT_EQ(Put(Art(bad + "?slug=acme"), "x").status, 400u) << bad;
  }
  EXPECT_EQ(Entries(), 0u);
}

TEST_F(TurboHandlerTest, FirstWriteWinsWithItsMetadata) {
  auto r = Put(Art("cellarcurl01?slug=curl"), "first artifact body", kWriterToken,
               {{"x-artifact-duration", "1234"}, {"x-artifact-tag", "Zmlyc3QtdGFn"}});
  EXPECT_EQ(r.status, 200u) << r.body;
  r = Put(Art("cellarcurl01?slug=curl"), "second, different body", kWriterToken,
          {{"x-artifact-duration", "99"}, {"x-artifact-tag", "c2Vjb25kLXRhZw=="}});
  EXPECT_EQ(r.status, 200u) << r.body;
  r = Get(Art("cellarcurl01?slug=curl"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "first artifact body");
  EXPECT_EQ(r.Header("x-artifact-duration"), "1234");
  EXPECT_EQ(r.Header("x-artifact-tag"), "Zmlyc3QtdGFn");
  EXPECT_EQ(r.cache_result, "hit");
  EXPECT_EQ(r.time_saved_ms, 1234u);  // the dashboard's build time saved
  EXPECT_FALSE(r.ns.empty());
  r = Head(Art("cellarcurl01?slug=curl"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.time_saved_ms, 0u);  // a HEAD downloads nothing
  EXPECT_EQ(r.Header("Content-Length"), "19");
  EXPECT_EQ(r.Header("x-artifact-tag"), "Zmlyc3QtdGFn");
  EXPECT_EQ(r.body, "");
  // Teams are namespaces of their own.
  EXPECT_EQ(Get(Art("cellarcurl01?slug=acme")).status, 404u);
  EXPECT_EQ(Read("turbo/curl", "cellarcurl01"), "first artifact body");
}

TEST_F(TurboHandlerTest, BadMetadataHeadersAre400) {
  auto r = Put(Art("cellarmeta01"), "x", kWriterToken, {{"x-artifact-duration", "soon"}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_FALSE(r.keep_alive);
}

TEST_F(TurboHandlerTest, TeamsFromEveryQueryParameter) {
  EXPECT_EQ(Put(Art("cellarcurl02?teamId=team_curl"), "by teamId").status, 200u);
  auto r = Get(Art("cellarcurl02?teamId=team_curl"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "by teamId");
  EXPECT_EQ(Put(Art("cellarcurl03"), "default team").status, 200u);
  EXPECT_EQ(Read("turbo/default", "cellarcurl03"), "default team");
}

// Issue 13, defect 12: a team that is not valid percent-encoding was read
// as "no team" and the artifact stored under the default team.
TEST_F(TurboHandlerTest, BadlyEncodedTeamsAre400) {
  for (const std::string& q : std::vector<std::string>{"teamId=%zz", "teamId=a%00b", "team=%zz", "slug=a%2", "teamId=a%01b", "slug=%2e%2e",
                        "teamId=%zz&slug=curl"}) {
    auto r = Put(Art("cellarbadteam01?" + q), "x");
    EXPECT_EQ(r.status, 400u) << q;
    EXPECT_NE(r.body.find("\"bad_request\""), std::string::npos) << q << ": " << r.body;
  }
  auto r = Get(Art("cellarbadteam01?teamId=%zz"));
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("teamId is not valid percent-encoding"), std::string::npos) << r.body;
  EXPECT_EQ(Entries(), 0u);
}

TEST_F(TurboHandlerTest, QueryReportsSizesAndMisses) {
  ASSERT_EQ(Put(Art("cellarq01?slug=curl"), "nineteen bytes long", kWriterToken,
                {{"x-artifact-duration", "7"}}).status, 200u);
  auto r = Post(std::string(kArt) + "?slug=curl", R"({"hashes":["cellarq01","cellarmissing01"]})", kReaderToken);
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["cellarq01"]["size"], 19);
  EXPECT_EQ(j["cellarq01"]["taskDurationMs"], 7);
  EXPECT_TRUE(j["cellarmissing01"].contains("error"));
  EXPECT_EQ(Post(std::string(kArt), "not json").status, 400u);
  EXPECT_EQ(Post(std::string(kArt), R"({"hashes":["a.b"]})").status, 400u);
  EXPECT_EQ(Post(std::string(kArt), R"({"hashes":"x"})").status, 400u);
}

TEST_F(TurboHandlerTest, EventsAreCountedAndTypeErrorsAre400) {
  auto r = Post(Art("events?slug=curl"),
                R"([{"sessionId":"4b3f0a52-1c44-4e7c-9b8e-0d4e2f1a6c11","source":"REMOTE","event":"HIT","hash":"cellarcurl01","duration":12}])",
                kReaderToken);
  EXPECT_EQ(r.status, 200u) << r.body;
  // Issue 13, defect 5: a number where turbo sends a string threw out of the
  // handler and the connection closed unanswered.
  r = Post(Art("events?slug=curl"), R"([{"source":1}])", kReaderToken);
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("\\\"source\\\" must be a string"), std::string::npos) << r.body;
  EXPECT_EQ(Post(Art("events"), R"([{"source":"LOCAL","event":[1]}])", kReaderToken).status, 400u);
}

TEST_F(TurboHandlerTest, UploadsBeyondTheEntryLimitAre413) {
  auto r = Put(Art("cellarbig01"), std::string(kMaxEntryBytes + 1, 'x'));
  EXPECT_EQ(r.status, 413u) << r.body;
  EXPECT_EQ(Get(Art("cellarbig01")).status, 404u);
}

TEST_F(TurboHandlerTest, ATruncatedUploadStoresNothing) {
  auto req = testing::TestRequest::Upload(Art("cellartrunc01"), std::string(100'000, 'x'), As(kWriterToken));
  req.body_bytes_sent = 40'000;
  auto r = harness_.Run(req);
  EXPECT_NE(r.status, 200u);
  EXPECT_EQ(Get(Art("cellartrunc01")).status, 404u);
  req.chunked = true;
  r = harness_.Run(req);
  EXPECT_NE(r.status, 200u);
  EXPECT_EQ(Get(Art("cellartrunc01")).status, 404u);
}

TEST_F(TurboHandlerTest, AChunkedUploadIsStored) {
  auto req = testing::TestRequest::Upload(Art("cellarchunk01"), std::string(50'000, 'c'), As(kWriterToken), /*chunked=*/true);
  EXPECT_EQ(harness_.Run(req).status, 200u);
  EXPECT_EQ(Get(Art("cellarchunk01")).body, req.body);
}

}  // namespace
}  // namespace cellar::turbo
