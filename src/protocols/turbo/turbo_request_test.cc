#include "protocols/turbo/turbo_request.h"

#include <gtest/gtest.h>

namespace cellar::turbo {
namespace {

TEST(TurboRequest, TeamPreferenceIsTeamIdThenTeamThenSlug) {
  EXPECT_EQ(*TeamNamespace("team_a", "b", "c", "default"), "turbo/team_a");
  EXPECT_EQ(*TeamNamespace(std::nullopt, "b", "c", "default"), "turbo/b");
  EXPECT_EQ(*TeamNamespace(std::nullopt, std::nullopt, "c", "default"), "turbo/c");
  EXPECT_EQ(*TeamNamespace(std::nullopt, std::nullopt, std::nullopt, "default"), "turbo/default");
}

TEST(TurboRequest, StrictModeRequiresATeam) {
  auto ns = TeamNamespace(std::nullopt, std::nullopt, std::nullopt, "");
  ASSERT_FALSE(ns.ok());
  EXPECT_NE(ns.error().message().find("TURBO_TEAM"), std::string::npos);
}

TEST(TurboRequest, TeamsCannotEscapeTheirNamespace) {
  EXPECT_FALSE(TeamNamespace("../x", std::nullopt, std::nullopt, "d").ok());
  EXPECT_FALSE(TeamNamespace("a/b", std::nullopt, std::nullopt, "d").ok());
  EXPECT_FALSE(TeamNamespace("..", std::nullopt, std::nullopt, "d").ok());
  EXPECT_FALSE(TeamNamespace(std::string(101, 'a'), std::nullopt, std::nullopt, "d").ok());
  EXPECT_TRUE(TeamNamespace(std::string(100, 'a'), std::nullopt, std::nullopt, "d").ok());
}

// Issue 13, defect 12: a bad escape made Exchange::QueryParam() answer
// "absent", so the artifact was stored under the default team.
TEST(TurboRequest, BadlyEncodedTeamsAreRefusedNotDefaulted) {
  for (std::string_view q : {"teamId=%zz", "teamId=a%00b", "team=%zz", "slug=a%2", "slug=%", "teamId=%zz&slug=ok"}) {
    auto ns = TeamNamespaceFromQuery(q, "default");
    ASSERT_FALSE(ns.ok()) << q;
    EXPECT_EQ(ns.error().code(), Code::kInvalidArgument) << q;
    EXPECT_NE(ns.error().message().find("percent-encoding"), std::string::npos) << ns.error().message();
  }
  // Decoded values go through the team-name rules: no control characters,
  // no '/', no "..", at most 100 characters.
  for (const std::string& q : {std::string("teamId=a%01b"), std::string("teamId=a%0Ab"), std::string("teamId=%2e%2e"),
                               std::string("slug=a%2Fb"), std::string("team=a%20b"), "teamId=" + std::string(101, 'a')}) {
    auto ns = TeamNamespaceFromQuery(q, "default");
    ASSERT_FALSE(ns.ok()) << q;
    EXPECT_EQ(ns.error().code(), Code::kInvalidArgument) << q;
  }
}

TEST(TurboRequest, TeamFromQueryDecodesAndKeepsThePreferenceOrder) {
  EXPECT_EQ(*TeamNamespaceFromQuery("slug=acme", "default"), "turbo/acme");
  EXPECT_EQ(*TeamNamespaceFromQuery("slug=acme&teamId=team%5Fa", "default"), "turbo/team_a");
  EXPECT_EQ(*TeamNamespaceFromQuery("team=b&slug=c", "default"), "turbo/b");
  EXPECT_EQ(*TeamNamespaceFromQuery("", "default"), "turbo/default");
  EXPECT_EQ(*TeamNamespaceFromQuery("teamId=&slug=acme", "default"), "turbo/acme");  // empty reads as absent
  EXPECT_EQ(*TeamNamespaceFromQuery("slug=a&slug=%zz", "default"), "turbo/a");     // the first one counts
  EXPECT_EQ(*TeamNamespaceFromQuery("other=%zz&slug=a", "default"), "turbo/a");    // only team parameters
  EXPECT_FALSE(TeamNamespaceFromQuery("", "").ok());
}

// The PUT matrix turbo depends on: 2xx for stored and for an existing hash
// (first write wins), no 5xx for a failing disk (turbo retries those).
TEST(TurboRequest, PutStatusMatrix) {
  using protocols::UploadError;
  EXPECT_EQ(PutAnswerFor(UploadError::kNone).status, 200u);
  EXPECT_EQ(PutAnswerFor(UploadError::kExists).status, 200u);
  EXPECT_TRUE(PutAnswerFor(UploadError::kExists).code.empty());
  EXPECT_EQ(PutAnswerFor(UploadError::kClient).status, 400u);
  EXPECT_EQ(PutAnswerFor(UploadError::kTooLarge).status, 413u);
  EXPECT_EQ(PutAnswerFor(UploadError::kStoreFull).status, 507u);
  EXPECT_EQ(PutAnswerFor(UploadError::kStoreFailure).status, 412u);
  EXPECT_EQ(PutAnswerFor(UploadError::kStoreFailure).code, "storage_failure");
  EXPECT_EQ(PutAnswerFor(UploadError::kExists).result, "exists");
}

TEST(TurboRequest, ArtifactHashes) {
  EXPECT_TRUE(IsValidArtifactHash("a45c1a3eaddad21e"));
  EXPECT_TRUE(IsValidArtifactHash("ABC_def-09"));
  EXPECT_FALSE(IsValidArtifactHash(""));
  EXPECT_FALSE(IsValidArtifactHash("a.b"));
  EXPECT_FALSE(IsValidArtifactHash("a/b"));
  EXPECT_FALSE(IsValidArtifactHash(std::string(129, 'a')));
}

TEST(TurboRequest, HeadersAreValidated) {
  auto ok = ParseArtifactHeaders("1234", "c2lnbmF0dXJl+/=");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok->duration_ms, 1234u);
  EXPECT_EQ(ok->tag, "c2lnbmF0dXJl+/=");
  EXPECT_FALSE(ParseArtifactHeaders("-1", std::nullopt).ok());
  EXPECT_FALSE(ParseArtifactHeaders("12ms", std::nullopt).ok());
  EXPECT_FALSE(ParseArtifactHeaders(std::nullopt, std::string(601, 'A')).ok());
  EXPECT_FALSE(ParseArtifactHeaders(std::nullopt, "not base64!").ok());
  auto none = ParseArtifactHeaders(std::nullopt, std::nullopt);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->duration_ms);
}

TEST(TurboRequest, MetadataRoundTripsThroughAttributes) {
  ArtifactMetadata m{42, "dGFn"};
  ArtifactMetadata back = MetadataFromAttributes(MetadataToAttributes(m));
  EXPECT_EQ(back.duration_ms, 42u);
  EXPECT_EQ(back.tag, "dGFn");
  EXPECT_FALSE(MetadataFromAttributes("not json").duration_ms);
  EXPECT_TRUE(MetadataFromAttributes("{}").tag.empty());
}

TEST(TurboRequest, ClientEventsFoldIntoFixedLabels) {
  auto events = ParseClientEvents(
      R"([{"source":"REMOTE","event":"HIT","hash":"a"},{"source":"LOCAL","event":"MISS"},{"source":"x"},{}])");
  ASSERT_TRUE(events.ok()) << events.error().message();
  ASSERT_EQ(events->size(), 4u);
  EXPECT_EQ((*events)[0].source, "remote");
  EXPECT_EQ((*events)[0].event, "hit");
  EXPECT_EQ((*events)[1].source, "local");
  EXPECT_EQ((*events)[1].event, "miss");
  EXPECT_EQ((*events)[2].source, "other");
  EXPECT_EQ((*events)[3].event, "other");
  EXPECT_TRUE(ParseClientEvents("[]")->empty());
}

// Issue 13, defect 5: [{"source":1}] threw nlohmann::json::type_error out of
// the handler, and the connection ended without an answer.
TEST(TurboRequest, ClientEventsOfTheWrongTypeAreRefusedNotThrown) {
  for (const char* body : {R"([{"source":1}])", R"([{"event":["HIT"]}])", R"([{"source":null}])",
                           R"([{"source":"LOCAL","event":{"a":1}}])", R"([1])", R"({"source":"LOCAL"})",
                           "not json", ""}) {
    auto events = ParseClientEvents(body);
    ASSERT_FALSE(events.ok()) << body;
    EXPECT_EQ(events.error().code(), Code::kInvalidArgument) << body;
  }
  auto wrong = ParseClientEvents(R"([{"source":1}])");
  EXPECT_NE(wrong.error().message().find("\"source\" must be a string"), std::string::npos)
      << wrong.error().message();
}

TEST(TurboRequest, DeeplyNestedEventsAreRefused) {
  std::string body(100000, '[');
  body += std::string(100000, ']');
  EXPECT_FALSE(ParseClientEvents(body).ok());
}

}  // namespace
}  // namespace cellar::turbo
