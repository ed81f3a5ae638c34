#include "protocols/negotiate/negotiate_request.h"

#include <gtest/gtest.h>

namespace cellar::negotiate {
namespace {

TEST(NegotiateRequest, SingleUploadWithDeclaredContent) {
  auto r = ParseSingle(R"({"hash":"abc","action":"upload","size":12,"sha256":")" + std::string(64, 'f') +
                       R"(","namespace":"team-a"})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->ns, "artifacts/team-a");
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].action, Action::kUpload);
  EXPECT_EQ(r->items[0].size, 12u);
}

TEST(NegotiateRequest, VelocityCacheShapeIsEnough) {
  auto r = ParseSingle(R"({"hash":"abc","action":"download"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ns, "artifacts");
  EXPECT_FALSE(r->items[0].size);
}

TEST(NegotiateRequest, BadInputIsRefusedWithAReason) {
  EXPECT_FALSE(ParseSingle("not json").ok());
  EXPECT_FALSE(ParseSingle(R"({"hash":"../x","action":"upload"})").ok());
  EXPECT_FALSE(ParseSingle(R"({"hash":"abc","action":"delete"})").ok());
  EXPECT_FALSE(ParseSingle(R"({"hash":"abc","action":"upload","size":-1})").ok());
  EXPECT_FALSE(ParseSingle(R"({"hash":"abc","action":"upload","sha256":"ABC"})").ok());
  EXPECT_FALSE(ParseSingle(R"({"hash":"abc","action":"upload","namespace":"../etc"})").ok());
  EXPECT_FALSE(ParseSingle(R"({"hash":"abc","action":"upload","namespace":7})").ok());
  auto r = ParseSingle(R"({"action":"upload"})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("hash"), std::string::npos);
}

TEST(NegotiateRequest, PresignedIsAnOptInBoolean) {
  EXPECT_FALSE(ParseSingle(R"({"hash":"a","action":"upload"})")->presigned_uploads);
  EXPECT_TRUE(ParseSingle(R"({"hash":"a","action":"upload","presigned":true})")->presigned_uploads);
  EXPECT_TRUE(ParseBatch(R"({"presigned":true,"requests":[{"hash":"a","action":"upload"}]})", 10)
                  ->presigned_uploads);
  EXPECT_FALSE(ParseSingle(R"({"hash":"a","action":"upload","presigned":"yes"})").ok());
}

TEST(NegotiateRequest, PresignedAnswerCarriesHeadersAndCommitUrl) {
  NegotiateAnswer a{"h", "upload_needed", "http://s3/x", 1764000000, {{"x-amz-content-sha256", "ab"}},
                    "http://cellar/v1/negotiate/commit/h/1?sig=z"};
  const std::string json = AnswerJson(a);
  EXPECT_NE(json.find(R"("headers":{"x-amz-content-sha256":"ab"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("commit_url":"http://cellar/v1/negotiate/commit/h/1?sig=z")"), std::string::npos)
      << json;
  EXPECT_EQ(AnswerJson({"h", "found", "http://s3/y", 1764000000, {}, ""}).find("commit_url"), std::string::npos);
}

TEST(NegotiateRequest, BatchKeepsOrderAndHasALimit) {
  auto r = ParseBatch(R"({"requests":[{"hash":"a","action":"upload"},{"hash":"b","action":"download"}]})", 10);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->items.size(), 2u);
  EXPECT_EQ(r->items[1].hash, "b");
  EXPECT_FALSE(ParseBatch(R"({"requests":[{"hash":"a","action":"upload"},{"hash":"b","action":"upload"}]})", 1).ok());
  EXPECT_FALSE(ParseBatch(R"({"requests":[{"hash":"a","action":"upload"},{"hash":"b/c","action":"upload"}]})", 10).ok());
  EXPECT_FALSE(ParseBatch(R"({"items":[]})", 10).ok());
}

// Issue 13, defect 12: a batch whose "namespace" was not a string was served
// from the default namespace "artifacts" instead of being refused.
TEST(NegotiateRequest, BatchNamespaceMustBeAStringLikeASingleOne) {
  for (const char* ns : {"7", "null", "[\"team-a\"]", "{\"a\":1}", "true"}) {
    std::string body = std::string(R"({"namespace":)") + ns + R"(,"requests":[{"hash":"a","action":"upload"}]})";
    auto r = ParseBatch(body, 10);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_NE(r.error().message().find("\"namespace\" must be a string"), std::string::npos) << r.error().message();
    std::string single = std::string(R"({"hash":"a","action":"upload","namespace":)") + ns + "}";
    EXPECT_FALSE(ParseSingle(single).ok()) << single;
  }
  for (const char* ns : {"\"../x\"", "\"a\\u0000b\"", "\"a/b/c/d/e\"", "\"a%2fb\""}) {
    std::string body = std::string(R"({"namespace":)") + ns + R"(,"requests":[]})";
    EXPECT_FALSE(ParseBatch(body, 10).ok()) << body;
  }
  auto ok = ParseBatch(R"({"namespace":"team-a","requests":[]})", 10);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->ns, "artifacts/team-a");
  EXPECT_EQ(ParseBatch(R"({"requests":[]})", 10)->ns, "artifacts");
}

TEST(NegotiateRequest, AnswersCarryUrlAndExpiryOnlyWhenThereIsATransfer) {
  EXPECT_EQ(AnswerJson({"a", "skipped", "", 0, {}, ""}), R"({"hash":"a","status":"skipped"})");
  EXPECT_EQ(AnswerJson({"a", "found", "http://x/v1/blobs/a?s", 1'800'000'000, {}, ""}),
            R"({"expires_at":"2027-01-15T08:00:00Z","hash":"a","status":"found","url":"http://x/v1/blobs/a?s"})");
  EXPECT_EQ(BatchJson({{"a", "missing", "", 0, {}, ""}}), R"({"results":[{"hash":"a","status":"missing"}]})");
}

protocols::UploadResult Upload(protocols::UploadError error, Status status = Status::Ok()) {
  return protocols::UploadResult{error, std::move(status), 0};
}

TEST(NegotiateRequest, UploadStatusMatrix) {
  using protocols::UploadError;
  EXPECT_EQ(UploadAnswerFor(Upload(UploadError::kNone), false).status, 201u);
  EXPECT_EQ(UploadAnswerFor(Upload(UploadError::kExists), false).status, 200u);
  EXPECT_EQ(UploadAnswerFor(Upload(UploadError::kExists), false).result, "skipped");
  EXPECT_EQ(UploadAnswerFor(Upload(UploadError::kClient), false).status, 400u);
  EXPECT_EQ(UploadAnswerFor(Upload(UploadError::kTooLarge), true).status, 400u);   // broke its declared size
  EXPECT_EQ(UploadAnswerFor(Upload(UploadError::kTooLarge), false).status, 413u);  // beyond the server's limit
  EXPECT_EQ(UploadAnswerFor(Upload(UploadError::kStoreFull), false).status, 507u);
  EXPECT_EQ(UploadAnswerFor(Upload(UploadError::kStoreFailure), false).status, 500u);
  // Unavailable for now (the bucket down, SQLite busy): a retry may succeed.
  EXPECT_EQ(UploadAnswerFor(Upload(UploadError::kStoreFailure, Status::Unavailable("bucket down")), false).status,
            503u);
}

}  // namespace
}  // namespace cellar::negotiate
