// The remote cache client against a real `cellar serve`. Not a unit test:
// tests/integration/task_cache_client_test.sh starts the server (ctest
// it_task_cache_client) and passes it in CELLAR_TEST_URL, with a read-write
// token in CELLAR_TEST_RW and a read-only one in CELLAR_TEST_RO.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "tasks/cache/guarded_remote_cache.h"
#include "tasks/cache/local_cache.h"
#include "tasks/cache/negotiate_remote_cache.h"

namespace cellar::taskcache {
namespace {

namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class RealServerTest : public testing::Test {
 protected:
  void SetUp() override {
    url_ = Env("CELLAR_TEST_URL");
    if (url_.empty()) GTEST_SKIP() << "CELLAR_TEST_URL is not set (run through it_task_cache_client)";
    dir_ = fs::path(testing::TempDir()) / ("real_server_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::random_device rd;
    prefix_ = "t" + std::to_string(rd()) + "-";
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  NegotiateRemoteCache Client(const std::string& token, const std::string& ns = "") {
    NegotiateRemoteCacheOptions o;
    o.server_url = url_;
    o.token = token;
    o.ns = ns;
    return NegotiateRemoteCache(o);
  }
  std::string File(const std::string& name, size_t size) {
    std::string bytes(size, '\0');
    std::mt19937 rng(static_cast<unsigned>(size));
    for (char& c : bytes) c = static_cast<char>(rng());
    std::ofstream((dir_ / name).string(), std::ios::binary) << bytes;
    return (dir_ / name).string();
  }

  std::string url_;
  fs::path dir_;
  std::string prefix_;
};

TEST_F(RealServerTest, UploadLookupAndDownloadRoundTripThroughALocalCache) {
  NegotiateRemoteCache remote = Client(Env("CELLAR_TEST_RW"), "proj-a");
  const std::string hash = prefix_ + "rt";
  const std::string file = File("artifact", 3 << 20);
  Result<UploadOutcome> up = remote.Upload(hash, file);
  ASSERT_TRUE(up.ok()) << up.error().ToString();
  EXPECT_EQ(*up, UploadOutcome::kStored);
  Result<UploadOutcome> again = remote.Upload(hash, file);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(*again, UploadOutcome::kSkipped);

  std::vector<RemoteLookup> found = remote.LookupBatch({hash, prefix_ + "absent"});
  ASSERT_TRUE(found[0].ok() && *found[0]) << found[0].status().ToString();
  ASSERT_TRUE(found[1].ok());
  EXPECT_FALSE(*found[1]);
  // Namespaces are separate: another project does not see it.
  EXPECT_FALSE(*Client(Env("CELLAR_TEST_RW"), "proj-b").LookupBatch({hash}).at(0));

  LocalCache local((dir_ / "cache").string());
  Result<std::string> temp = local.NewTempFile();
  ASSERT_TRUE(temp.ok());
  Result<std::optional<FileDigest>> got = remote.Download(**found[0], *temp, DigestFile(file).value());
  ASSERT_TRUE(got.ok() && *got) << got.status().ToString();
  Result<LocalArtifact> entry = local.Insert(hash, *temp, **got);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(DigestFile(entry->path).value(), DigestFile(file).value());
}

TEST_F(RealServerTest, AReadOnlyTokenGetsHitsButNoUploads) {
  const std::string hash = prefix_ + "ro";
  ASSERT_TRUE(Client(Env("CELLAR_TEST_RW")).Upload(hash, File("a", 1000)).ok());
  NegotiateRemoteCache ro = Client(Env("CELLAR_TEST_RO"));
  std::vector<std::string> warnings;
  GuardedRemoteCache guarded(ro, [&](const Status& s) { warnings.push_back(s.message()); });
  RemoteLookup hit = guarded.LookupBatch({hash}).at(0);
  ASSERT_TRUE(hit.ok() && *hit) << hit.status().ToString();
  ASSERT_TRUE(guarded.Download(**hit, (dir_ / "dl").string()).ok());
  EXPECT_EQ(guarded.Upload(prefix_ + "ro2", File("b", 10)).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(guarded.Upload(prefix_ + "ro3", File("c", 10)).status().code(), Code::kPermissionDenied);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("token lacks write scope: uploads disabled"), std::string::npos) << warnings[0];
  EXPECT_TRUE(guarded.enabled());
}

TEST_F(RealServerTest, AnUnknownTokenIsRefusedClearly) {
  Status s = Client("not-a-token").LookupBatch({prefix_ + "x"}).at(0).status();
  EXPECT_EQ(s.code(), Code::kUnauthenticated) << s.ToString();
  EXPECT_NE(s.message().find("401"), std::string::npos) << s.message();
}

TEST_F(RealServerTest, ALargeBatchIsSplitAndAnsweredInOrder) {
  NegotiateRemoteCache remote = Client(Env("CELLAR_TEST_RW"));
  const std::string present = prefix_ + "batch-1234";
  ASSERT_TRUE(remote.Upload(present, File("p", 10)).ok());
  std::vector<std::string> hashes;
  for (int i = 0; i < 2100; ++i) hashes.push_back(prefix_ + "batch-" + std::to_string(i));
  std::vector<RemoteLookup> got = remote.LookupBatch(hashes);
  ASSERT_EQ(got.size(), hashes.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i].ok()) << got[i].status().ToString();
    EXPECT_EQ(got[i]->has_value(), hashes[i] == present) << hashes[i];
  }
}

TEST_F(RealServerTest, ConcurrentUploadsOfOneHashStoreItOnce) {
  NegotiateRemoteCache remote = Client(Env("CELLAR_TEST_RW"));
  const std::string hash = prefix_ + "race";
  const std::string file = File("race", 2 << 20);
  std::atomic<int> stored{0};
  std::atomic<int> skipped{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      Result<UploadOutcome> r = remote.Upload(hash, file);
      if (r.ok() && *r == UploadOutcome::kStored) ++stored;
      if (r.ok() && *r == UploadOutcome::kSkipped) ++skipped;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(stored.load(), 1);
  EXPECT_EQ(skipped.load(), 3);
}

}  // namespace
}  // namespace cellar::taskcache
