#include "tasks/cache/negotiate_remote_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tasks/cache/test_http_server.h"

namespace cellar::taskcache {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int Count(const TestHttpServer& server, std::string_view method, std::string_view path_prefix) {
  int n = 0;
  for (const TestRequest& r : server.requests()) {
    if (r.method == method && r.target.rfind(path_prefix, 0) == 0) ++n;
  }
  return n;
}

// Answers batch lookups from `blobs`: found with a URL on `blob_base`.
TestReply BatchAnswer(const TestRequest& req, const std::map<std::string, std::string>& blobs,
                      const std::string& blob_base, const std::string& expires = "2099-01-01T00:00:00Z") {
  Json in = Json::parse(req.body);
  Json results = Json::array();
  for (const Json& item : in["requests"]) {
    const std::string hash = item["hash"];
    if (blobs.count(hash)) {
      results.push_back({{"hash", hash}, {"status", "found"},
                         {"url", blob_base + "/v1/blobs/" + hash + "?method=GET&sig=s3cr3t"},
                         {"expires_at", expires}});
    } else {
      results.push_back({{"hash", hash}, {"status", "missing"}});
    }
  }
  return TestReply::Json(Json{{"results", results}}.dump());
}

std::string BlobKey(const std::string& target) {
  std::string path = target.substr(0, target.find('?'));
  return path.substr(path.rfind('/') + 1);
}

class NegotiateRemoteCacheTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("negotiate_client_" + std::to_string(::getpid()) + "_" +
                                           testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  NegotiateRemoteCacheOptions Options(const std::string& url) {
    NegotiateRemoteCacheOptions o;
    o.server_url = url;
    o.token = "tok-123";
    o.initial_backoff = std::chrono::milliseconds(1);
    o.max_backoff = std::chrono::milliseconds(2);
    o.negotiate_timeouts.total = std::chrono::milliseconds(5'000);
    o.transfer_timeouts.total = std::chrono::milliseconds(5'000);
    return o;
  }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }
  std::string WriteFile(const std::string& name, const std::string& content) {
    std::ofstream(Path(name), std::ios::binary) << content;
    return Path(name);
  }
  static RemoteArtifact Artifact(const std::string& hash, const std::string& url) {
    return RemoteArtifact{hash, url, std::chrono::system_clock::now() + std::chrono::minutes(5)};
  }

  fs::path dir_;
};

TEST_F(NegotiateRemoteCacheTest, LookupBatchIsOneRequestWithTokenAndNamespace) {
  std::map<std::string, std::string> blobs{{"h1", "one"}, {"h3", "three"}};
  TestHttpServer server([&](const TestRequest& r) { return BatchAnswer(r, blobs, "http://elsewhere:1"); });
  NegotiateRemoteCacheOptions options = Options(server.url());
  options.ns = "my-project";
  NegotiateRemoteCache cache(options);
  std::vector<RemoteLookup> got = cache.LookupBatch({"h1", "h2", "h3"});
  ASSERT_EQ(got.size(), 3u);
  ASSERT_TRUE(got[0].ok() && *got[0]);
  EXPECT_EQ((*got[0])->hash, "h1");
  EXPECT_EQ((*got[0])->url, "http://elsewhere:1/v1/blobs/h1?method=GET&sig=s3cr3t");
  EXPECT_EQ(std::chrono::system_clock::to_time_t((*got[0])->expires_at), 4070908800);  // 2099-01-01
  ASSERT_TRUE(got[1].ok());
  EXPECT_FALSE(*got[1]);
  ASSERT_TRUE(got[2].ok() && *got[2]);

  std::vector<TestRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/negotiate/batch");
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer tok-123");
  Json body = Json::parse(requests[0].body);
  EXPECT_EQ(body["namespace"], "my-project");
  EXPECT_EQ(body["requests"].size(), 3u);
  EXPECT_EQ(body["requests"][1], (Json{{"hash", "h2"}, {"action", "download"}}));
}

TEST_F(NegotiateRemoteCacheTest, LookupBatchSplitsAtTheServersLimitOf1000) {
  TestHttpServer server([&](const TestRequest& r) { return BatchAnswer(r, {}, "http://x"); });
  NegotiateRemoteCache cache(Options(server.url()));
  std::vector<std::string> hashes;
  for (int i = 0; i < 2500; ++i) hashes.push_back("h" + std::to_string(i));
  std::vector<RemoteLookup> got = cache.LookupBatch(hashes);
  ASSERT_EQ(got.size(), 2500u);
  for (const RemoteLookup& r : got) ASSERT_TRUE(r.ok() && !*r);
  std::vector<TestRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  size_t total = 0;
  for (const TestRequest& r : requests) {
    size_t n = Json::parse(r.body)["requests"].size();
    EXPECT_LE(n, 1000u);
    total += n;
  }
  EXPECT_EQ(total, 2500u);
}

TEST_F(NegotiateRemoteCacheTest, AnInvalidHashFailsAloneAndIsNotSent) {
  TestHttpServer server([&](const TestRequest& r) { return BatchAnswer(r, {{"ok", "x"}}, "http://x"); });
  NegotiateRemoteCache cache(Options(server.url()));
  std::vector<RemoteLookup> got = cache.LookupBatch({"bad/hash", "ok"});
  EXPECT_EQ(got[0].status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(got[1].ok() && *got[1]);
  EXPECT_EQ(Json::parse(server.requests().at(0).body)["requests"].size(), 1u);
}

TEST_F(NegotiateRemoteCacheTest, AServerThatIsDownIsUnavailableAtOnce) {
  NegotiateRemoteCache cache(Options("http://127.0.0.1:" + std::to_string(TestHttpServer::UnusedPort())));
  auto start = std::chrono::steady_clock::now();
  std::vector<RemoteLookup> got = cache.LookupBatch({"a", "b"});
  for (const RemoteLookup& r : got) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Code::kUnavailable) << r.error().ToString();
    EXPECT_TRUE(DisablesRemote(r.error()));
    EXPECT_NE(r.error().message().find("unreachable"), std::string::npos) << r.error().message();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(NegotiateRemoteCacheTest, RefusedTokensGiveClearMessages) {
  TestHttpServer server([](const TestRequest&) { return TestReply::Json(R"({"error":"unknown token"})", 401); });
  NegotiateRemoteCache with_token(Options(server.url()));
  Status s = with_token.LookupBatch({"a"}).at(0).status();
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_NE(s.message().find("refused the token (401): unknown token"), std::string::npos) << s.message();
  NegotiateRemoteCacheOptions anonymous = Options(server.url());
  anonymous.token.clear();
  NegotiateRemoteCache without(anonymous);
  s = without.LookupBatch({"a"}).at(0).status();
  EXPECT_NE(s.message().find("needs a token"), std::string::npos) << s.message();
  EXPECT_FALSE(server.requests().back().Header("Authorization"));
  EXPECT_EQ(server.requests().size(), 2u);  // never retried
}

TEST_F(NegotiateRemoteCacheTest, A5xxIsRetriedThenSucceeds) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const TestRequest& r) {
    if (calls++ == 0) return TestReply::Json(R"({"error":"busy"})", 503);
    return BatchAnswer(r, {{"a", "x"}}, "http://x");
  });
  NegotiateRemoteCache cache(Options(server.url()));
  RemoteLookup got = cache.LookupBatch({"a"}).at(0);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_TRUE(*got);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(NegotiateRemoteCacheTest, A5xxThatPersistsGivesUpAfterMaxAttempts) {
  TestHttpServer server([](const TestRequest&) { return TestReply::Json(R"({"error":"broken"})", 500); });
  NegotiateRemoteCacheOptions options = Options(server.url());
  options.max_attempts = 4;
  NegotiateRemoteCache cache(options);
  Status s = cache.LookupBatch({"a"}).at(0).status();
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("HTTP 500: broken"), std::string::npos) << s.message();
  EXPECT_EQ(server.requests().size(), 4u);
}

TEST_F(NegotiateRemoteCacheTest, DownloadStreamsToTheFileAndReportsItsDigest) {
  const std::string content(3 << 20, 'z');
  TestHttpServer server([&](const TestRequest&) {
    TestReply r;
    r.body = content;
    return r;
  });
  NegotiateRemoteCache cache(Options(server.url()));
  const std::string dest = Path("dl");
  Result<std::optional<FileDigest>> got = cache.Download(Artifact("h", server.url() + "/v1/blobs/h?sig=1"), dest);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  ASSERT_TRUE(*got);
  EXPECT_EQ((*got)->size, content.size());
  EXPECT_EQ(ReadFile(dest), content);
  EXPECT_EQ(**got, DigestFile(dest).value());
}

TEST_F(NegotiateRemoteCacheTest, A404IsAMissNotRetriedAndLeavesNoFile) {
  TestHttpServer server([](const TestRequest&) { return TestReply::Json(R"({"error":"gone"})", 404); });
  NegotiateRemoteCache cache(Options(server.url()));
  const std::string dest = WriteFile("dl", "stale");
  Result<std::optional<FileDigest>> got = cache.Download(Artifact("h", server.url() + "/v1/blobs/h"), dest);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(NegotiateRemoteCacheTest, ATruncatedBodyIsRetriedAndNeverAHit) {
  TestHttpServer server([](const TestRequest&) {
    TestReply r;
    r.body = "only part";
    r.announced_length = 100'000;
    return r;
  });
  NegotiateRemoteCache cache(Options(server.url()));
  const std::string dest = Path("dl");
  Result<std::optional<FileDigest>> got = cache.Download(Artifact("h", server.url() + "/v1/blobs/h"), dest);
  ASSERT_FALSE(got.ok());
  EXPECT_FALSE(DisablesRemote(got.error())) << got.error().ToString();
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(NegotiateRemoteCacheTest, ABodyOfUnknownLengthCannotBeVerifiedAndIsAMiss) {
  TestHttpServer server([](const TestRequest&) {
    TestReply r;
    r.body = "maybe complete";
    r.no_length = true;
    return r;
  });
  NegotiateRemoteCache cache(Options(server.url()));
  const std::string dest = Path("dl");
  Result<std::optional<FileDigest>> got = cache.Download(Artifact("h", server.url() + "/v1/blobs/h"), dest);
  EXPECT_EQ(got.status().code(), Code::kCorruption);
  EXPECT_FALSE(fs::exists(dest));
  // With the expected size the same body verifies.
  FileDigest expected{14, ""};
  got = cache.Download(Artifact("h", server.url() + "/v1/blobs/h"), dest, expected);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(ReadFile(dest), "maybe complete");
}

TEST_F(NegotiateRemoteCacheTest, AnUnexpectedDigestIsCorruptionAndLeavesNoFile) {
  TestHttpServer server([](const TestRequest&) {
    TestReply r;
    r.body = "abc";
    return r;
  });
  NegotiateRemoteCache cache(Options(server.url()));
  const std::string dest = Path("dl");
  FileDigest wrong{3, std::string(64, '0')};
  Result<std::optional<FileDigest>> got = cache.Download(Artifact("h", server.url() + "/x"), dest, wrong);
  EXPECT_EQ(got.status().code(), Code::kCorruption);
  EXPECT_FALSE(fs::exists(dest));
}

TEST_F(NegotiateRemoteCacheTest, AStalledTransferTimesOutAndLeavesNoFile) {
  TestHttpServer server([](const TestRequest&) {
    TestReply r;
    r.body = std::string(10'000, 'a');
    r.stall_after = 100;
    r.stall = std::chrono::milliseconds(3'000);
    return r;
  });
  NegotiateRemoteCacheOptions options = Options(server.url());
  options.transfer_timeouts.total = std::chrono::milliseconds(300);
  options.max_attempts = 2;
  NegotiateRemoteCache cache(options);
  const std::string dest = Path("dl");
  auto start = std::chrono::steady_clock::now();
  Result<std::optional<FileDigest>> got = cache.Download(Artifact("h", server.url() + "/x"), dest);
  EXPECT_EQ(got.status().code(), Code::kDeadlineExceeded) << got.status().ToString();
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2'500));
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(NegotiateRemoteCacheTest, ASlowServerHitsTheNegotiateTimeout) {
  TestHttpServer server([](const TestRequest& r) {
    TestReply reply = BatchAnswer(r, {}, "http://x");
    reply.delay = std::chrono::milliseconds(3'000);
    return reply;
  });
  NegotiateRemoteCacheOptions options = Options(server.url());
  options.negotiate_timeouts.total = std::chrono::milliseconds(200);
  options.max_attempts = 2;
  NegotiateRemoteCache cache(options);
  Status s = cache.LookupBatch({"a"}).at(0).status();
  EXPECT_EQ(s.code(), Code::kUnavailable);  // a server that never answers is as good as down
  EXPECT_NE(s.message().find("imeout"), std::string::npos) << s.message();
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(NegotiateRemoteCacheTest, ADownload5xxIsRetried) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const TestRequest&) {
    TestReply r;
    r.status = calls++ < 2 ? 503 : 200;
    r.body = r.status == 200 ? "payload" : "busy";
    return r;
  });
  NegotiateRemoteCache cache(Options(server.url()));
  const std::string dest = Path("dl");
  Result<std::optional<FileDigest>> got = cache.Download(Artifact("h", server.url() + "/x"), dest);
  ASSERT_TRUE(got.ok() && *got) << got.status().ToString();
  EXPECT_EQ(ReadFile(dest), "payload");
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(NegotiateRemoteCacheTest, TheTokenNeverGoesToAnotherHost) {
  // The object store holds the bytes; the cellar server signs URLs for it
  // and also redirects one of its own blob URLs there.
  TestHttpServer store([](const TestRequest& r) {
    TestReply reply;
    reply.body = "bytes of " + BlobKey(r.target);
    return reply;
  });
  TestHttpServer cellar([&](const TestRequest& r) {
    if (r.target.rfind("/v1/negotiate", 0) == 0) return BatchAnswer(r, {{"direct", ""}}, store.url());
    TestReply redirect;
    redirect.status = 302;
    redirect.headers.emplace_back("Location", store.url() + "/v1/blobs/" + BlobKey(r.target) + "?sig=2");
    return redirect;
  });
  NegotiateRemoteCache cache(Options(cellar.url()));
  RemoteLookup direct = cache.LookupBatch({"direct"}).at(0);
  ASSERT_TRUE(direct.ok() && *direct);
  ASSERT_TRUE(cache.Download(**direct, Path("a")).ok());
  EXPECT_EQ(ReadFile(Path("a")), "bytes of direct");
  Result<std::optional<FileDigest>> redirected =
      cache.Download(Artifact("redir", cellar.url() + "/v1/blobs/redir?sig=1"), Path("b"));
  ASSERT_TRUE(redirected.ok() && *redirected) << redirected.status().ToString();
  EXPECT_EQ(ReadFile(Path("b")), "bytes of redir");

  ASSERT_EQ(store.requests().size(), 2u);
  for (const TestRequest& r : store.requests()) EXPECT_FALSE(r.Header("Authorization")) << r.target;
  for (const TestRequest& r : cellar.requests()) EXPECT_EQ(r.Header("Authorization"), "Bearer tok-123") << r.target;
}

TEST_F(NegotiateRemoteCacheTest, AnExpiredUrlIsRenewedOnce) {
  std::atomic<int> lookups{0};
  std::string self;
  TestHttpServer server([&](const TestRequest& r) {
    if (r.target.rfind("/v1/negotiate", 0) == 0) {
      ++lookups;
      return BatchAnswer(r, {{"h", ""}}, self);  // fresh URLs carry sig=s3cr3t
    }
    TestReply reply;
    if (r.target.find("sig=s3cr3t") == std::string::npos) {
      reply = TestReply::Json(R"({"error":"signed URL expired"})", 403);
    } else {
      reply.body = "renewed";
    }
    return reply;
  });
  self = server.url();
  NegotiateRemoteCache cache(Options(server.url()));
  // Refused with 403 although not yet expired by the local clock.
  RemoteArtifact stale{"h", server.url() + "/v1/blobs/h?sig=old", std::chrono::system_clock::now() + std::chrono::minutes(1)};
  Result<std::optional<FileDigest>> got = cache.Download(stale, Path("dl"));
  ASSERT_TRUE(got.ok() && *got) << got.status().ToString();
  EXPECT_EQ(ReadFile(Path("dl")), "renewed");
  EXPECT_EQ(lookups.load(), 1);
  EXPECT_EQ(Count(server, "GET", "/v1/blobs/"), 2);
  // Already past its expiry: renewed before the first GET.
  stale.expires_at = std::chrono::system_clock::now() - std::chrono::seconds(1);
  got = cache.Download(stale, Path("dl2"));
  ASSERT_TRUE(got.ok() && *got) << got.status().ToString();
  EXPECT_EQ(lookups.load(), 2);
  EXPECT_EQ(Count(server, "GET", "/v1/blobs/"), 3);  // only the fresh URL was fetched
}

// A cellar-like server for uploads: negotiates, then takes the PUT.
struct UploadServer {
  std::mutex mu;
  std::map<std::string, std::string> stored;
  int put_status_override = 0;
  std::string put_base;  // where signed PUT URLs point; the server itself when empty

  TestReply Handle(const TestRequest& r, const std::string& self) {
    std::lock_guard lock(mu);
    if (r.target == "/v1/negotiate") {
      Json in = Json::parse(r.body);
      const std::string hash = in["hash"];
      if (stored.count(hash)) return TestReply::Json(Json{{"hash", hash}, {"status", "skipped"}}.dump());
      const std::string base = put_base.empty() ? self : put_base;
      return TestReply::Json(Json{{"hash", hash}, {"status", "upload_needed"},
                                  {"url", base + "/v1/blobs/" + hash + "?method=PUT&sig=x"},
                                  {"expires_at", "2099-01-01T00:00:00Z"}}.dump());
    }
    if (r.method == "PUT") {
      if (put_status_override) return TestReply::Json("{}", put_status_override);
      const bool fresh = stored.emplace(BlobKey(r.target), r.body).second;
      return TestReply::Json(fresh ? R"({"status":"stored"})" : R"({"status":"skipped"})", fresh ? 201 : 200);
    }
    return TestReply::Json(R"({"error":"?"})", 400);
  }
};

TEST_F(NegotiateRemoteCacheTest, UploadDeclaresSizeAndSha256ThenPutsTheFile) {
  UploadServer logic;
  std::string self;
  TestHttpServer server([&](const TestRequest& r) { return logic.Handle(r, self); });
  self = server.url();
  NegotiateRemoteCacheOptions options = Options(server.url());
  options.ns = "proj";
  NegotiateRemoteCache cache(options);
  const std::string content(1 << 20, 'u');
  const std::string file = WriteFile("art", content);
  Result<UploadOutcome> first = cache.Upload("up1", file, std::nullopt, 2500);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(*first, UploadOutcome::kStored);
  EXPECT_EQ(logic.stored["up1"], content);

  std::vector<TestRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  Json negotiate = Json::parse(requests[0].body);
  EXPECT_EQ(negotiate["action"], "upload");
  EXPECT_EQ(negotiate["size"], content.size());
  EXPECT_EQ(negotiate["sha256"], DigestFile(file)->sha256);
  EXPECT_EQ(negotiate["namespace"], "proj");
  EXPECT_EQ(negotiate["duration_ms"], 2500);
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].Header("Content-Length"), std::to_string(content.size()));

  // Already there: the negotiation says skipped and nothing is sent.
  Result<UploadOutcome> again = cache.Upload("up1", file);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, UploadOutcome::kSkipped);
  EXPECT_EQ(Count(server, "PUT", "/v1/blobs/"), 1);
}

TEST_F(NegotiateRemoteCacheTest, AnUploadThatLosesTheRaceIsSkipped) {
  UploadServer logic;
  std::string self;
  TestHttpServer server([&](const TestRequest& r) { return logic.Handle(r, self); });
  self = server.url();
  logic.put_status_override = 200;  // another client committed first
  NegotiateRemoteCache cache(Options(server.url()));
  Result<UploadOutcome> got = cache.Upload("race", WriteFile("art", "x"));
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(*got, UploadOutcome::kSkipped);
}

TEST_F(NegotiateRemoteCacheTest, UploadsToAnotherHostCarryNoToken) {
  UploadServer store_logic;
  TestHttpServer store([&](const TestRequest& r) { return store_logic.Handle(r, ""); });
  UploadServer logic;
  logic.put_base = store.url();
  TestHttpServer server([&](const TestRequest& r) { return logic.Handle(r, ""); });
  NegotiateRemoteCache cache(Options(server.url()));
  ASSERT_TRUE(cache.Upload("ext", WriteFile("art", "payload")).ok());
  EXPECT_EQ(store_logic.stored["ext"], "payload");
  ASSERT_EQ(store.requests().size(), 1u);
  EXPECT_FALSE(store.requests()[0].Header("Authorization"));
  EXPECT_EQ(server.requests().at(0).Header("Authorization"), "Bearer tok-123");
}

// A presigned answer (--storage s3): the PUT goes to the object store with
// the listed headers and no token, then the commit URL is POSTed to cellar.
// An expired commit (403) starts over with a fresh negotiation.
TEST_F(NegotiateRemoteCacheTest, PresignedUploadPutsToTheStoreThenCommits) {
  const std::string file = WriteFile("art", "presigned payload");
  const std::string sha256 = DigestFile(file)->sha256;
  std::mutex mu;
  std::map<std::string, std::string> staged;  // object store: path -> body
  int commits = 0;
  TestHttpServer store([&](const TestRequest& r) {
    std::lock_guard lock(mu);
    if (r.method != "PUT" || r.Header("x-amz-content-sha256") != sha256) {
      return TestReply::Json("<Error>SignatureDoesNotMatch</Error>", 403);
    }
    staged[r.target.substr(0, r.target.find('?'))] = r.body;
    return TestReply::Json("", 200);
  });
  std::string self;
  int negotiations = 0;
  TestHttpServer server([&](const TestRequest& r) {
    std::lock_guard lock(mu);
    if (r.target == "/v1/negotiate") {
      Json in = Json::parse(r.body);
      if (in.value("presigned", false) != true) return TestReply::Json(R"({"error":"old client"})", 400);
      const std::string id = std::to_string(++negotiations);
      return TestReply::Json(Json{{"hash", in["hash"]}, {"status", "upload_needed"},
                                  {"url", store.url() + "/bucket/staging/" + id + "?X-Amz-Signature=x"},
                                  {"headers", {{"x-amz-content-sha256", in["sha256"]}}},
                                  {"commit_url", self + "/v1/negotiate/commit/" + id + "?sig=y"},
                                  {"expires_at", "2099-01-01T00:00:00Z"}}.dump());
    }
    if (r.method == "POST" && r.target.starts_with("/v1/negotiate/commit/")) {
      ++commits;
      if (commits == 1) return TestReply::Json(R"({"error":"signed URL expired"})", 403);
      return TestReply::Json(R"({"status":"stored"})", 201);
    }
    return TestReply::Json(R"({"error":"?"})", 400);
  });
  self = server.url();
  NegotiateRemoteCache cache(Options(server.url()));
  Result<UploadOutcome> got = cache.Upload("pre1", file);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(*got, UploadOutcome::kStored);
  EXPECT_EQ(negotiations, 2);
  EXPECT_EQ(commits, 2);
  EXPECT_EQ(staged["/bucket/staging/2"], "presigned payload");
  for (const TestRequest& r : store.requests()) EXPECT_FALSE(r.Header("Authorization"));
  for (const TestRequest& r : server.requests()) EXPECT_EQ(r.Header("Authorization"), "Bearer tok-123");
}

TEST_F(NegotiateRemoteCacheTest, AReadOnlyTokenDisablesUploadsButStillFindsHits) {
  TestHttpServer server([](const TestRequest& r) {
    if (r.target == "/v1/negotiate") return TestReply::Json(R"({"error":"token 'pr' may not write artifacts"})", 403);
    return BatchAnswer(r, {{"h", ""}}, "http://x");
  });
  NegotiateRemoteCache cache(Options(server.url()));
  Result<UploadOutcome> up = cache.Upload("h2", WriteFile("art", "x"));
  EXPECT_EQ(up.status().code(), Code::kPermissionDenied);
  EXPECT_NE(up.status().message().find("token lacks write scope: uploads disabled"), std::string::npos)
      << up.status().message();
  RemoteLookup hit = cache.LookupBatch({"h"}).at(0);
  ASSERT_TRUE(hit.ok() && *hit);
}

TEST_F(NegotiateRemoteCacheTest, AFailedPutIsRetriedWithAFreshNegotiation) {
  std::atomic<int> puts{0};
  UploadServer logic;
  std::string self;
  TestHttpServer server([&](const TestRequest& r) {
    if (r.method == "PUT" && puts++ == 0) return TestReply::Json(R"({"error":"disk hiccup"})", 500);
    return logic.Handle(r, self);
  });
  self = server.url();
  NegotiateRemoteCache cache(Options(server.url()));
  Result<UploadOutcome> got = cache.Upload("retry", WriteFile("art", "abc"));
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(*got, UploadOutcome::kStored);
  EXPECT_EQ(Count(server, "POST", "/v1/negotiate"), 2);
  EXPECT_EQ(Count(server, "PUT", "/v1/blobs/"), 2);
}

TEST_F(NegotiateRemoteCacheTest, TransfersRunInParallelFromManyThreads) {
  UploadServer logic;
  std::string self;
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  TestHttpServer server([&](const TestRequest& r) {
    if (r.method == "GET") {
      const int now = ++in_flight;
      for (int seen = max_in_flight.load(); now > seen && !max_in_flight.compare_exchange_weak(seen, now);) {
      }
      // Hold the answer so overlapping transfers overlap here too.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      --in_flight;
      TestReply reply;
      reply.body = std::string(100'000, static_cast<char>('a' + BlobKey(r.target).back() % 26));
      return reply;
    }
    return logic.Handle(r, self);
  });
  self = server.url();
  NegotiateRemoteCache cache(Options(server.url()));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      const std::string name = "t" + std::to_string(i);
      auto d = cache.Download(Artifact(name, server.url() + "/v1/blobs/" + name), Path("dl" + name));
      auto u = cache.Upload(name, WriteFile("up" + name, std::string(50'000, 'x')));
      if (d.ok() && *d && (*d)->size == 100'000 && u.ok() && *u == UploadOutcome::kStored) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(logic.stored.size(), 8u);
  EXPECT_GE(max_in_flight.load(), 2);  // 1 if the client serialised transfers
}

}  // namespace
}  // namespace cellar::taskcache
