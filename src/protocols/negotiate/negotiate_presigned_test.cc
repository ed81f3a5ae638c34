// Presigned negotiate answers (the adapter with a DirectStorage) in-process,
// over an in-memory object store: staging PUT answers and commit rules
// (size or digest mismatch refused, a second commit skipped, expired or
// tampered commit URLs, a commit without an upload), presigned downloads
// and the fallback to this server's own URLs. The same flow against a real
// Ceph RGW: tests/integration/negotiate_presigned_test.sh.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/digest.h"
#include "hash/sha256.h"
#include "protocols/negotiate/negotiate_adapter.h"
#include "testing/adapter_fixture.h"

namespace cellar::negotiate {
namespace {

using nlohmann::json;
using testing::TestResponse;

// An object store in memory. A test plays the client's PUT with Stage().
class MemoryDirectStorage : public DirectStorage {
 public:
  Result<PresignedRequest> PresignStagingPut(const std::string& name, uint64_t size,
                                             const std::optional<std::string>& sha256, int64_t now,
                                             std::chrono::seconds ttl) override {
    PresignedRequest r{"http://s3.test/staging/" + name + "?size=" + std::to_string(size) +
                           "&expires=" + std::to_string(now + ttl.count()),
                       {}};
    if (sha256) r.headers.emplace_back("x-amz-content-sha256", *sha256);
    return r;
  }
  Result<std::optional<PresignedRequest>> PresignBlobGet(const Digest& digest, uint64_t, int64_t,
                                                         std::chrono::seconds) override {
    if (!bucket_has_blobs) return std::optional<PresignedRequest>();
    return std::optional<PresignedRequest>(PresignedRequest{"http://s3.test/blobs/" + digest.Hex(), {}});
  }
  Result<std::optional<std::unique_ptr<StagedObject>>> OpenStaged(const std::string& name) override {
    std::lock_guard lock(mu_);
    ++opens;
    auto it = staged_.find(name);
    if (it == staged_.end()) return std::optional<std::unique_ptr<StagedObject>>();
    return std::optional<std::unique_ptr<StagedObject>>(std::make_unique<Object>(it->second));
  }
  Status RemoveStaged(const std::string& name) override {
    std::lock_guard lock(mu_);
    staged_.erase(name);
    return Status();
  }
  Result<int> RemoveStaleStaged(std::chrono::seconds older_than) override {
    std::lock_guard lock(mu_);
    sweeps.push_back(older_than);
    return 0;
  }

  // The client's PUT to a staging URL from an answer.
  void Stage(const std::string& url, std::string data) {
    std::string name = url.substr(std::string("http://s3.test/staging/").size());
    name = name.substr(0, name.find('?'));
    std::lock_guard lock(mu_);
    staged_[name] = std::move(data);
  }
  size_t StagedCount() {
    std::lock_guard lock(mu_);
    return staged_.size();
  }

  bool bucket_has_blobs = true;
  int opens = 0;
  std::vector<std::chrono::seconds> sweeps;

 private:
  class Object : public StagedObject {
   public:
    explicit Object(std::string data) : data_(std::move(data)) {}
    uint64_t size() const override { return data_.size(); }
    Result<size_t> Read(std::span<std::byte> out) override {
      size_t n = std::min(out.size(), data_.size() - pos_);
      std::memcpy(out.data(), data_.data() + pos_, n);
      pos_ += n;
      return n;
    }

   private:
    std::string data_;
    size_t pos_ = 0;
  };
  std::mutex mu_;
  std::map<std::string, std::string> staged_;
};

class NegotiatePresignedTest : public testing::AdapterFixture {
 protected:
  NegotiatePresignedTest() : signer_("negotiate-test-key-0123456789") {
    NegotiateOptions options;
    options.url_ttl_s = 60;
    options.direct = &store_;
    Add(std::make_unique<NegotiateAdapter>(ctx_, signer_, options, registry_));
  }

  static json UploadItem(const std::string& key, const std::string& data, bool presigned = true) {
    json j = {{"hash", key}, {"action", "upload"}, {"size", data.size()}, {"sha256", Sha256Hex(data)}};
    if (presigned) j["presigned"] = true;
    return j;
  }
  json Ask(const json& item) {
    auto r = Post("/v1/negotiate", item.dump(), testing::kWriterToken, {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200u) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  static std::string PathOf(const json& answer, const char* field) {
    std::string url = answer.value(field, "");
    const std::string base = "http://cellar.test";
    return url.starts_with(base) ? url.substr(base.size()) : url;
  }
  TestResponse Commit(const std::string& path) { return harness_.Post(path, ""); }
  static std::string Sha256Hex(const std::string& data) {
    return ToHex(hash::Sha256(std::as_bytes(std::span(data.data(), data.size()))));
  }
  std::string Metrics() { return registry_.RenderText(); }

  auth::UrlSigner signer_;
  MemoryDirectStorage store_;
};

TEST_F(NegotiatePresignedTest, UploadGoesToStagingAndTheCommitStoresIt) {
  const std::string data(300'000, 'p');
  json answer = Ask(UploadItem("art1", data));
  EXPECT_EQ(answer["status"], "upload_needed");
  const std::string url = answer["url"];
  EXPECT_TRUE(url.starts_with("http://s3.test/staging/artifacts/art1/")) << url;
  EXPECT_EQ(answer["headers"]["x-amz-content-sha256"], Sha256Hex(data));
  const std::string commit = PathOf(answer, "commit_url");
  ASSERT_TRUE(commit.starts_with("/v1/negotiate/commit/art1/")) << commit;
  EXPECT_TRUE(answer.contains("expires_at"));

  EXPECT_EQ(Commit(commit).status, 409u);  // nothing uploaded yet
  store_.Stage(url, data);
  auto r = Commit(commit);
  EXPECT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(json::parse(r.body)["status"], "stored");
  EXPECT_EQ(store_.StagedCount(), 0u);  // the staged copy is removed

  json found = Ask({{"hash", "art1"}, {"action", "download"}});
  EXPECT_EQ(found["status"], "found");
  EXPECT_TRUE(found["url"].get<std::string>().starts_with("http://s3.test/blobs/")) << found;
  EXPECT_EQ(Ask(UploadItem("art1", data))["status"], "skipped");
  // Committing again after success: the key exists, nothing is read.
  const int opens = store_.opens;
  EXPECT_EQ(Commit(commit).status, 200u);
  EXPECT_EQ(store_.opens, opens);
  const std::string metrics = Metrics();
  EXPECT_NE(metrics.find(R"(cellar_negotiate_answers_total{status="upload_needed",url="presigned"} 1)"),
            std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(cellar_negotiate_transfers_total{op="commit",result="stored"} 1)"), std::string::npos);
}

TEST_F(NegotiatePresignedTest, TheCommitKeepsTheDeclaredDurationForPresignedDownloads) {
  const std::string data(1000, 'q');
  json item = UploadItem("timed", data);
  item["duration_ms"] = 61000;
  json answer = Ask(item);
  store_.Stage(answer["url"], data);
  ASSERT_EQ(Commit(PathOf(answer, "commit_url")).status, 201u);
  json batch = {{"requests", {{{"hash", "timed"}, {"action", "download"}}, {{"hash", "timed"}, {"action", "download"}}}}};
  auto r = Post("/v1/negotiate/batch", batch.dump(), testing::kWriterToken, {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.time_saved_ms, 2 * 61000u);  // each found download is a build not run
}

TEST_F(NegotiatePresignedTest, OfTwoStagedUploadsTheFirstCommitWins) {
  const std::string first(1000, 'a'), second(1000, 'b');
  json a = Ask(UploadItem("race1", first));
  json b = Ask(UploadItem("race1", second));
  ASSERT_NE(a["url"], b["url"]);  // each negotiation stages apart
  store_.Stage(a["url"], first);
  store_.Stage(b["url"], second);
  EXPECT_EQ(Commit(PathOf(a, "commit_url")).status, 201u);
  auto r = Commit(PathOf(b, "commit_url"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body)["status"], "skipped");
  EXPECT_EQ(store_.StagedCount(), 0u);
  auto entry = cache_.Lookup("artifacts", "race1");
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_EQ((*entry)->size, first.size());
}

TEST_F(NegotiatePresignedTest, ACommitOfTheWrongBytesIsRefusedAndStoresNothing) {
  const std::string data(2000, 'd');
  json answer = Ask(UploadItem("bad1", data));
  store_.Stage(answer["url"], data + "x");  // a store that did not pin the size
  auto r = Commit(PathOf(answer, "commit_url"));
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("nothing stored"), std::string::npos) << r.body;
  answer = Ask(UploadItem("bad1", data));
  store_.Stage(answer["url"], std::string(2000, 'e'));  // right size, wrong digest
  r = Commit(PathOf(answer, "commit_url"));
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(Entries(), 0u);
  EXPECT_EQ(store_.StagedCount(), 0u);
  EXPECT_EQ(Ask({{"hash", "bad1"}, {"action", "download"}})["status"], "missing");
  EXPECT_EQ(Ask(UploadItem("bad1", data))["status"], "upload_needed");
}

TEST_F(NegotiatePresignedTest, CommitUrlsAreSignedAndExpire) {
  const std::string data = "commit me";
  json answer = Ask(UploadItem("exp1", data));
  store_.Stage(answer["url"], data);
  const std::string commit = PathOf(answer, "commit_url");
  std::string tampered = commit;
  tampered.replace(tampered.find("size=9"), 6, "size=8");
  EXPECT_EQ(Commit(tampered).status, 403u);
  std::string unsigned_path = commit.substr(0, commit.find('?'));
  EXPECT_EQ(Commit(unsigned_path).status, 403u);
  EXPECT_EQ(Commit("/v1/negotiate/commit/exp1/not-an-id?ns=artifacts").status, 400u);
  EXPECT_EQ(harness_.Get(commit).status, 405u);
  // A commit URL lives two URL lifetimes: a PUT begun at the last moment
  // may end after its own URL expired.
  clock_.Advance(std::chrono::seconds(121));
  auto r = Commit(commit);
  EXPECT_EQ(r.status, 403u);
  EXPECT_NE(r.body.find("expired"), std::string::npos) << r.body;
  EXPECT_EQ(Entries(), 0u);
}

TEST_F(NegotiatePresignedTest, OldClientsAndUndeclaredSizesUploadThroughThisServer) {
  const std::string data = "old client";
  json answer = Ask(UploadItem("old1", data, /*presigned=*/false));
  EXPECT_TRUE(PathOf(answer, "url").starts_with("/v1/blobs/old1?")) << answer;
  EXPECT_FALSE(answer.contains("commit_url"));
  json no_size = Ask({{"hash", "old2"}, {"action", "upload"}, {"presigned", true}});
  EXPECT_TRUE(PathOf(no_size, "url").starts_with("/v1/blobs/old2?")) << no_size;
  ASSERT_EQ(harness_.Put(PathOf(answer, "url"), data).status, 201u);
  // A blob the bucket does not hold is served by this server.
  store_.bucket_has_blobs = false;
  json found = Ask({{"hash", "old1"}, {"action", "download"}});
  EXPECT_TRUE(PathOf(found, "url").starts_with("/v1/blobs/old1?")) << found;
  auto r = harness_.Get(PathOf(found, "url"));
  EXPECT_EQ(r.body, data);
}

TEST_F(NegotiatePresignedTest, CommitsSweepStaleStagingAtMostHourly) {
  auto commit_one = [&](const std::string& key) {
    json answer = Ask(UploadItem(key, key));
    store_.Stage(answer["url"], key);
    EXPECT_EQ(Commit(PathOf(answer, "commit_url")).status, 201u);
  };
  commit_one("sweep1");
  ASSERT_EQ(store_.sweeps.size(), 1u);
  EXPECT_EQ(store_.sweeps[0], std::chrono::hours(24));
  commit_one("sweep2");
  EXPECT_EQ(store_.sweeps.size(), 1u);
  clock_.Advance(std::chrono::minutes(61));
  commit_one("sweep3");
  EXPECT_EQ(store_.sweeps.size(), 2u);
}

}  // namespace
}  // namespace cellar::negotiate
