// The negotiate API in-process: negotiation answers, signed-URL PUT/GET
// statuses (tampered, expired, wrong method, wrong size or digest), scopes
// and methods. Concurrency against the real server (50 racing uploads, an
// upload killed half-way) stays in tests/integration/negotiate_test.sh.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/digest.h"
#include "hash/sha256.h"
#include "protocols/negotiate/negotiate_adapter.h"
#include "testing/adapter_fixture.h"

namespace cellar::negotiate {
namespace {

using nlohmann::json;
using testing::kElsewhereToken;
using testing::kReaderToken;
using testing::kWriterToken;
using testing::TestResponse;

class NegotiateHandlerTest : public testing::AdapterFixture {
 protected:
  NegotiateHandlerTest() : signer_("negotiate-test-key-0123456789") {
    NegotiateOptions options;
    options.url_ttl_s = 60;
    options.max_batch_items = 10;
    Add(std::make_unique<NegotiateAdapter>(ctx_, signer_, options, registry_));
  }

  static json UploadItem(const std::string& key, const std::string& data) {
    return {{"hash", key}, {"action", "upload"}, {"size", data.size()}, {"sha256", Sha256Hex(data)}};
  }
  TestResponse Negotiate(const json& item, std::string_view token = kWriterToken) {
    return Post("/v1/negotiate", item.dump(), token, {{"Content-Type", "application/json"}});
  }
  // The status and URL path (with query) of a single negotiation.
  std::pair<std::string, std::string> Ask(const json& item) {
    auto r = Negotiate(item);
    EXPECT_EQ(r.status, 200u) << r.body;
    auto j = json::parse(r.body, nullptr, false);
    std::string url = j.value("url", "");
    // The URL is absolute (from the Host header); the harness wants the path.
    const std::string base = "http://cellar.test";
    if (url.starts_with(base)) url = url.substr(base.size());
    return {j.value("status", ""), url};
  }
  static std::string Sha256Hex(const std::string& data) {
    auto d = hash::Sha256(std::as_bytes(std::span(data.data(), data.size())));
    return ToHex(d);
  }
  static std::string Replace(std::string s, const std::string& from, const std::string& to) {
    size_t at = s.find(from);
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  }

  auth::UrlSigner signer_;
};

TEST_F(NegotiateHandlerTest, UploadThenDownloadThroughSignedUrls) {
  std::string data(200'000, 'd');
  auto [status, put_url] = Ask(UploadItem("single1", data));
  EXPECT_EQ(status, "upload_needed");
  ASSERT_TRUE(put_url.starts_with("/v1/blobs/single1?")) << put_url;
  auto r = harness_.Put(put_url, data);
  EXPECT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(json::parse(r.body)["status"], "stored");
  auto [found, get_url] = Ask({{"hash", "single1"}, {"action", "download"}});
  EXPECT_EQ(found, "found");
  r = harness_.Get(get_url);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, data);
  r = harness_.Head(get_url);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(data.size()));
  // Immutable: a second negotiation is skipped, the old URL answers 200 skipped.
  EXPECT_EQ(Ask(UploadItem("single1", data)).first, "skipped");
  r = harness_.Put(put_url, data);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body)["status"], "skipped");
  EXPECT_EQ(Ask({{"hash", "nothere"}, {"action", "download"}}).first, "missing");
}

TEST_F(NegotiateHandlerTest, ADeclaredBuildDurationIsCountedAsTimeSavedByDownloads) {
  std::string data(5000, 't');
  json item = UploadItem("timed1", data);
  item["duration_ms"] = 4200;
  auto [status, put_url] = Ask(item);
  EXPECT_EQ(status, "upload_needed");
  EXPECT_NE(put_url.find("duration=4200"), std::string::npos) << put_url;
  auto r = harness_.Put(put_url, data);
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(r.time_saved_ms, 0u);  // an upload saves nothing
  auto [found, get_url] = Ask({{"hash", "timed1"}, {"action", "download"}});
  EXPECT_EQ(found, "found");
  r = harness_.Get(get_url);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.time_saved_ms, 4200u);
  EXPECT_EQ(r.ns, "artifacts");
  EXPECT_EQ(harness_.Head(get_url).time_saved_ms, 0u);
  // Without a declared duration nothing is counted.
  auto [s2, put2] = Ask(UploadItem("untimed1", data));
  ASSERT_EQ(harness_.Put(put2, data).status, 201u);
  EXPECT_EQ(harness_.Get(Ask({{"hash", "untimed1"}, {"action", "download"}}).second).time_saved_ms, 0u);
  // A duration that is not a count of milliseconds is refused.
  item["duration_ms"] = -1;
  EXPECT_EQ(Negotiate(item).status, 400u);
  item["duration_ms"] = "soon";
  EXPECT_EQ(Negotiate(item).status, 400u);
}

TEST_F(NegotiateHandlerTest, BatchKeepsOrderAndNamespaces) {
  std::string data = "batch body";
  ASSERT_EQ(harness_.Put(Ask(UploadItem("single1", data)).second, data).status, 201u);
  json batch = {{"namespace", "team-x"},
                {"requests", {UploadItem("b1", data), {{"hash", "single1"}, {"action", "download"}}}}};
  auto r = Post("/v1/negotiate/batch", batch.dump());
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = json::parse(r.body);
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][0]["hash"], "b1");
  EXPECT_EQ(j["results"][0]["status"], "upload_needed");
  EXPECT_EQ(j["results"][1]["status"], "missing");  // single1 lives in the default namespace
  json too_many = {{"requests", json::array()}};
  for (int i = 0; i < 11; ++i) too_many["requests"].push_back({{"hash", "x"}, {"action", "download"}});
  EXPECT_EQ(Post("/v1/negotiate/batch", too_many.dump()).status, 400u);
  // Issue 13, defect 12: a namespace that is not a string was answered from
  // the default namespace.
  for (const std::string& ns : std::vector<std::string>{"7", "null", "[\"team-a\"]"}) {
    r = Post("/v1/negotiate/batch", "{\"namespace\":" + ns + ",\"requests\":[{\"hash\":\"a\",\"action\":\"download\"}]}");
    EXPECT_EQ(r.status, 400u) << ns;
    EXPECT_NE(r.body.find("must be a string"), std::string::npos) << r.body;
  }
}

// A large batch is answered by several threads (AnswerAll): the answers
// must still come back complete and in request order.
class NegotiateLargeBatchTest : public NegotiateHandlerTest {
 protected:
  NegotiateLargeBatchTest() {
    NegotiateOptions options;
    options.url_ttl_s = 60;
    options.max_batch_items = 1000;
    large_ = std::make_unique<NegotiateAdapter>(ctx_, signer_, options, registry_);
  }
  std::unique_ptr<NegotiateAdapter> large_;
};

TEST_F(NegotiateLargeBatchTest, AThousandItemsComeBackInOrder) {
  // Stored through the 10-item adapter's routes, asked through a batch
  // built the same way the large adapter answers it.
  for (int i = 0; i < 1000; i += 7) {
    std::string key = "k" + std::to_string(i), data = "body " + key;
    ASSERT_EQ(harness_.Put(Ask(UploadItem(key, data)).second, data).status, 201u) << key;
  }
  NegotiateRequest request;
  request.ns = "artifacts";
  for (int i = 0; i < 1000; ++i) {
    NegotiateItem item;
    item.hash = "k" + std::to_string(i);
    item.action = i % 2 == 0 ? Action::kDownload : Action::kUpload;
    request.items.push_back(item);
  }
  std::vector<NegotiateAnswer> answers = large_->AnswerAllForTest(request, "http://cellar.test");
  ASSERT_EQ(answers.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    const bool stored = i % 7 == 0;
    const bool download = i % 2 == 0;
    EXPECT_EQ(answers[i].hash, "k" + std::to_string(i));
    EXPECT_EQ(answers[i].status, download ? (stored ? "found" : "missing") : (stored ? "skipped" : "upload_needed"))
        << i;
  }
}

TEST_F(NegotiateHandlerTest, BadNegotiationsAre400) {
  for (const std::string& bad : std::vector<std::string>{"not json", R"({"hash":"../etc","action":"upload"})", R"({"hash":"a","action":"steal"})"}) {
    auto r = Post("/v1/negotiate", bad);
    EXPECT_EQ(r.status, 400u) << bad;
    EXPECT_NE(r.body.find("error"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Post("/v1/negotiate/other", "{}").status, 404u);
}

TEST_F(NegotiateHandlerTest, SignedUrlStatusMatrix) {
  std::string data(5000, 't');
  auto url = Ask(UploadItem("tamper1", data)).second;
  auto r = harness_.Put(Replace(url, "size=5000", "size=5001"), data + "x");
  EXPECT_EQ(r.status, 403u);
  EXPECT_NE(r.body.find("signature"), std::string::npos) << r.body;
  EXPECT_EQ(harness_.Put(Replace(url, "/v1/blobs/tamper1", "/v1/blobs/tamper2"), data).status, 403u);
  size_t sig = url.find("sig=");
  ASSERT_NE(sig, std::string::npos);
  std::string bad_sig = url;
  bad_sig[sig + 4] = bad_sig[sig + 4] == '0' ? '1' : '0';
  EXPECT_EQ(harness_.Put(bad_sig, data).status, 403u);
  EXPECT_EQ(harness_.Get(url).status, 403u);  // an upload URL does not download
  EXPECT_EQ(harness_.Put("/v1/blobs/tamper1", data).status, 403u);  // unsigned
  r = harness_.Put(url, std::string(5000, 'u'));
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("nothing stored"), std::string::npos) << r.body;
  EXPECT_EQ(harness_.Put(url, data.substr(1)).status, 400u);  // shorter than declared
  EXPECT_EQ(Ask({{"hash", "tamper1"}, {"action", "download"}}).first, "missing");
  EXPECT_EQ(harness_.Put(url, data).status, 201u);
  EXPECT_EQ(harness_.Put("/v1/blobs/bad.key?x=1", data).status, 400u);
}

TEST_F(NegotiateHandlerTest, ExpiredUrlsAre403) {
  std::string data = "expiring";
  auto url = Ask(UploadItem("exp1", data)).second;
  clock_.Advance(std::chrono::seconds(61));
  auto r = harness_.Put(url, data);
  EXPECT_EQ(r.status, 403u);
  EXPECT_NE(r.body.find("expired"), std::string::npos) << r.body;
}

TEST_F(NegotiateHandlerTest, AChunkedBodyLongerThanDeclaredIsRefused) {
  std::string data(1000, 'l');
  auto url = Ask(UploadItem("long1", data)).second;
  auto req = testing::TestRequest::Upload(url, std::string(200'000, 'l'), {}, /*chunked=*/true);
  auto r = harness_.Run(req);
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("declared size"), std::string::npos) << r.body;
  EXPECT_EQ(Entries(), 0u);
}

TEST_F(NegotiateHandlerTest, AnUploadThatEndsEarlyStoresNothing) {
  std::string data(400'000, 'k');
  auto url = Ask(UploadItem("killed1", data)).second;
  auto req = testing::TestRequest::Upload(url, data);
  req.body_bytes_sent = data.size() / 2;
  EXPECT_NE(harness_.Run(req).status, 201u);
  EXPECT_EQ(Ask({{"hash", "killed1"}, {"action", "download"}}).first, "missing");
  EXPECT_EQ(Ask(UploadItem("killed1", data)).first, "upload_needed");
}

TEST_F(NegotiateHandlerTest, AuthMatrix) {
  json item = UploadItem("scope1", "x");
  auto r = harness_.Post("/v1/negotiate", item.dump());
  EXPECT_EQ(r.status, 401u);
  EXPECT_TRUE(r.Header("WWW-Authenticate").has_value());
  EXPECT_EQ(Negotiate(item, "wrong-token").status, 401u);
  EXPECT_EQ(Negotiate(item, kReaderToken).status, 403u);
  EXPECT_EQ(Negotiate(item, kElsewhereToken).status, 403u);
  json mixed = {{"requests", {item, {{"hash", "single1"}, {"action", "download"}}}}};
  EXPECT_EQ(Post("/v1/negotiate/batch", mixed.dump(), kReaderToken).status, 403u);
  r = Negotiate({{"hash", "single1"}, {"action", "download"}}, kReaderToken);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body)["status"], "missing");
}

TEST_F(NegotiateHandlerTest, MethodMatrix) {
  auto r = Get("/v1/negotiate");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.Header("Allow"), "POST");
  r = harness_.Delete("/v1/blobs/single1");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.Header("Allow"), "GET, HEAD, PUT");
  EXPECT_EQ(harness_.Send("BREW", "/v1/negotiate").status, 501u);
}

}  // namespace
}  // namespace cellar::negotiate
