// TieredBlobStore over an FsBlobStore in a temporary directory (local tier)
// and the real S3BlobStore on the in-memory FakeS3Client (remote tier): the
// BlobStore conformance suite, then read-through, single-flight,
// write-through order, dedupe, a remote that is down, and a damaged remote
// object. The conformance suite runs on a real RGW in s3_rgw_test.cc too.
#include "store/tiered/tiered_blob_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "env/clock.h"
#include "store/fs_blob_store.h"
#include "store/s3/fake_s3_client.h"
#include "store/s3/s3_blob_store.h"
#include "testing/blob_store_conformance.h"
#include "testing/forwarding_blob_store.h"

namespace cellar::store {
namespace {

using s3::S3Op;

// Both tiers and what they stand on; the tiered store on top.
struct Tiers {
  explicit Tiers(bool compress = true, TieredBlobStore::Options options = {}) {
    FsBlobStore::Options fs;
    fs.root = dir.path() + "/local";
    fs.compress = compress;
    auto opened = FsBlobStore::Open(fs);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (opened.ok()) local = std::move(*opened);
    s3::S3BlobStoreOptions remote_options;
    remote_options.spool_dir = dir.path();
    remote = std::make_unique<s3::S3BlobStore>(s3, clock, remote_options);
    tiered = std::make_unique<TieredBlobStore>(*local, *remote, options);
  }
  ScopedTempDir dir;
  env::FakeClock clock;
  s3::FakeS3Client s3{clock};
  std::unique_ptr<FsBlobStore> local;
  std::unique_ptr<s3::S3BlobStore> remote;
  std::unique_ptr<TieredBlobStore> tiered;
};

// The harness hands out the tiered store; the tiers live in `extra`.
class TieredHarness final : public testing::BlobStoreHarness {
 public:
  explicit TieredHarness(std::unique_ptr<Tiers> tiers) : tiers_(std::move(tiers)) {}
  BlobStore& store() override { return *tiers_->tiered; }

 private:
  std::unique_ptr<Tiers> tiers_;
};

std::unique_ptr<testing::BlobStoreHarness> MakeTieredHarness(bool compress, bool remove_from_remote) {
  return std::make_unique<TieredHarness>(
      std::make_unique<Tiers>(compress, TieredBlobStore::Options{.remove_from_remote = remove_from_remote}));
}

using testing::BlobStoreConformanceTest;
INSTANTIATE_TEST_SUITE_P(
    Tiered, BlobStoreConformanceTest,
    ::testing::Values(
        testing::BlobStoreFactory{"Tiered", [] { return MakeTieredHarness(true, false); },
                                  /*remove_hides_blob=*/false},
        testing::BlobStoreFactory{"TieredUncompressed", [] { return MakeTieredHarness(false, false); },
                                  /*remove_hides_blob=*/false},
        testing::BlobStoreFactory{"TieredRemoveFromRemote", [] { return MakeTieredHarness(true, true); },
                                  /*remove_hides_blob=*/true}),
    testing::BlobStoreFactoryName);

// Every fake S3 operation fails as an unreachable server would.
void TakeDown(s3::FakeS3Client& s3) {
  for (S3Op op : {S3Op::kPut, S3Op::kGet, S3Op::kHead, S3Op::kDelete, S3Op::kList, S3Op::kCreateMultipart,
                  S3Op::kUploadPart, S3Op::kCompleteMultipart, S3Op::kAbortMultipart, S3Op::kListUploads}) {
    s3.FailNext(op, Status::Unavailable("connect to 127.0.0.1:9 failed"), 1000);
  }
}

class TieredBlobStoreTest : public ::testing::Test {
 protected:
  // Uncompressed, so local copies are raw files (RawFile() is checked).
  Tiers t_{/*compress=*/false};
  TieredBlobStore& store() { return *t_.tiered; }

  // Puts `data` in the remote tier only, as another node would have.
  Digest PutRemoteOnly(const Bytes& data) {
    Result<BlobInfo> info = WriteBlob(*t_.remote, data);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    t_.s3.ClearCalls();
    return HashBytes(data);
  }
  bool InLocal(const Digest& d) {
    Result<std::optional<BlobInfo>> stat = t_.local->Stat(d);
    EXPECT_TRUE(stat.ok()) << stat.status().ToString();
    return stat.ok() && stat->has_value();
  }
};

TEST_F(TieredBlobStoreTest, LocalMissReadsThroughAndFillsTheLocalTier) {
  const Bytes data = MakeContent(300000, Content::kRandom);
  const Digest d = PutRemoteOnly(data);
  ASSERT_FALSE(InLocal(d));

  auto reader = store().Open(d);
  ASSERT_TRUE(reader.ok() && reader->has_value()) << reader.status().ToString();
  EXPECT_TRUE((**reader)->RawFile().has_value()) << "served from the local copy";
  Result<Bytes> got = ReadRest(***reader);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data);
  EXPECT_TRUE(InLocal(d));
  EXPECT_EQ(t_.s3.CountCalls(S3Op::kGet), 1u);

  // Now a local hit: no more traffic to the remote.
  t_.s3.ClearCalls();
  Result<std::optional<Bytes>> again = ReadBlob(store(), d);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_TRUE(**again == data);
  EXPECT_TRUE(t_.s3.Calls().empty());
}

TEST_F(TieredBlobStoreTest, AbsentEverywhereIsAMiss) {
  const Digest d = HashBytes(MakeContent(10, Content::kText));
  auto reader = store().Open(d);
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE(reader->has_value());
  auto stat = store().Stat(d);
  ASSERT_TRUE(stat.ok());
  EXPECT_FALSE(stat->has_value());
}

TEST_F(TieredBlobStoreTest, StatOfARemoteOnlyBlobAsksTheRemoteWithoutDownloading) {
  const Bytes data = MakeContent(5000, Content::kText);
  const Digest d = PutRemoteOnly(data);
  auto stat = store().Stat(d);
  ASSERT_TRUE(stat.ok() && stat->has_value()) << stat.status().ToString();
  EXPECT_EQ((*stat)->size, data.size());
  EXPECT_EQ(t_.s3.CountCalls(S3Op::kGet), 0u);
  EXPECT_FALSE(InLocal(d));
}

// A remote Open that waits until the test opens the gate, counting calls.
class GatedRemote final : public testing::ForwardingBlobStore {
 public:
  using ForwardingBlobStore::ForwardingBlobStore;
  Result<std::optional<std::unique_ptr<BlobReader>>> Open(const Digest& digest) override {
    {
      std::unique_lock lock(mu_);
      ++opens_;
      cv_.wait(lock, [&] { return open_; });
    }
    return base_.Open(digest);
  }
  void Release() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int opens() {
    std::lock_guard lock(mu_);
    return opens_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int opens_ = 0;
};

// Spins until `done` holds, for at most ten seconds.
template <typename F>
bool WaitFor(F done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST_F(TieredBlobStoreTest, ConcurrentOpensOfOneDigestDownloadOnce) {
  constexpr int kThreads = 8;
  const Bytes data = MakeContent(200000, Content::kRandom);
  const Digest d = PutRemoteOnly(data);
  GatedRemote gated(*t_.remote);
  TieredBlobStore tiered(*t_.local, gated);

  std::vector<Result<std::optional<Bytes>>> results(kThreads, Status::Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[i] = ReadBlob(tiered, d); });
  }
  // One caller is downloading, the others wait for it.
  const bool piled_up = WaitFor([&] { return gated.opens() >= 1 && tiered.WaitersForTest(d) == kThreads - 1; });
  gated.Release();
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(piled_up) << "opens " << gated.opens() << ", waiters " << tiered.WaitersForTest(d);
  EXPECT_EQ(gated.opens(), 1);
  EXPECT_EQ(t_.s3.CountCalls(S3Op::kGet), 1u);
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok() && r->has_value()) << r.status().ToString();
    EXPECT_TRUE(**r == data);
  }
}

// Logs "<name> commit" into a shared log when a writer commits.
class RecordingStore final : public testing::ForwardingBlobStore {
 public:
  RecordingStore(BlobStore& base, std::string name, std::vector<std::string>& log, std::mutex& mu)
      : ForwardingBlobStore(base), name_(std::move(name)), log_(log), mu_(mu) {}
  Result<std::unique_ptr<BlobWriter>> NewWriter() override {
    CELLAR_ASSIGN_OR_RETURN(auto w, base_.NewWriter());
    return std::unique_ptr<BlobWriter>(std::make_unique<Writer>(std::move(w), *this));
  }

 private:
  class Writer final : public testing::ForwardingBlobWriter {
   public:
    Writer(std::unique_ptr<BlobWriter> base, RecordingStore& owner)
        : ForwardingBlobWriter(std::move(base)), owner_(owner) {}
    Result<BlobInfo> Commit(const std::optional<Digest>& expected) override {
      Result<BlobInfo> r = base_->Commit(expected);
      std::lock_guard lock(owner_.mu_);
      owner_.log_.push_back(owner_.name_ + (r.ok() ? " commit" : " commit failed"));
      return r;
    }

   private:
    RecordingStore& owner_;
  };
  std::string name_;
  std::vector<std::string>& log_;
  std::mutex& mu_;
};

TEST_F(TieredBlobStoreTest, CommitWritesTheRemoteFirstThenKeepsALocalCopy) {
  std::mutex mu;
  std::vector<std::string> log;
  RecordingStore local(*t_.local, "local", log, mu);
  RecordingStore remote(*t_.remote, "remote", log, mu);
  TieredBlobStore tiered(local, remote);
  const Bytes data = MakeContent(100000, Content::kText);
  Result<BlobInfo> info = WriteBlob(tiered, data);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(log, (std::vector<std::string>{"remote commit", "local commit"}));
  EXPECT_TRUE(InLocal(info->digest));
  EXPECT_TRUE(t_.s3.ObjectForTest(t_.remote->KeyFor(info->digest)).has_value());
  // The local tier's description: it is what this node's disk holds.
  auto local_stat = t_.local->Stat(info->digest);
  ASSERT_TRUE(local_stat.ok() && local_stat->has_value());
  EXPECT_EQ(info->stored_size, (*local_stat)->stored_size);
}

TEST_F(TieredBlobStoreTest, ALargeBlobTheRemoteHoldsIsNotUploadedAgain) {
  // Above S3BlobStoreOptions::head_before_put_bytes (smaller ones are sent
  // without asking).
  const Bytes data = MakeContent((1 << 20) + 1, Content::kRandom);
  const Digest d = PutRemoteOnly(data);
  Result<BlobInfo> info = WriteBlob(store(), data);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->digest, d);
  EXPECT_EQ(t_.s3.CountCalls(S3Op::kPut), 0u);
  EXPECT_EQ(t_.s3.CountCalls(S3Op::kHead), 1u);
  EXPECT_TRUE(InLocal(d));
}

TEST_F(TieredBlobStoreTest, RemoteFailureFailsTheCommitAndKeepsNothingLocally) {
  const Bytes data = MakeContent(4000, Content::kText);
  t_.s3.FailNext(S3Op::kPut, Status::PermissionDenied("PUT blobs/..: 403 AccessDenied"));
  Result<BlobInfo> info = WriteBlob(store(), data);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code(), Code::kUnavailable) << info.error().ToString();
  EXPECT_NE(info.error().message().find("remote tier"), std::string::npos) << info.error().ToString();
  EXPECT_NE(info.error().message().find("AccessDenied"), std::string::npos) << info.error().ToString();
  EXPECT_FALSE(InLocal(HashBytes(data)));
  EXPECT_TRUE(t_.s3.KeysForTest().empty());
}

TEST_F(TieredBlobStoreTest, RemoteDownLocalHitsWorkRemoteOnlyBlobsAndWritesAreUnavailable) {
  const Bytes here = MakeContent(100000, Content::kRandom, 1);
  const Bytes there = MakeContent(100000, Content::kRandom, 2);
  ASSERT_TRUE(WriteBlob(store(), here).ok());
  const Digest remote_only = PutRemoteOnly(there);
  TakeDown(t_.s3);

  auto hit = store().Open(HashBytes(here));
  ASSERT_TRUE(hit.ok() && hit->has_value()) << hit.status().ToString();
  EXPECT_TRUE((**hit)->RawFile().has_value());
  EXPECT_TRUE(*ReadRest(***hit) == here);
  auto stat_hit = store().Stat(HashBytes(here));
  EXPECT_TRUE(stat_hit.ok() && stat_hit->has_value());

  // Unavailable, not corruption and not a miss: CacheService keeps the
  // entry and the adapters answer 404 until the remote is back.
  auto miss = store().Open(remote_only);
  ASSERT_FALSE(miss.ok());
  EXPECT_EQ(miss.error().code(), Code::kUnavailable) << miss.error().ToString();
  EXPECT_EQ(store().Stat(remote_only).status().code(), Code::kUnavailable);

  const Bytes fresh = MakeContent(1000, Content::kText, 3);
  Result<BlobInfo> write = WriteBlob(store(), fresh);
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().code(), Code::kUnavailable) << write.error().ToString();
  EXPECT_FALSE(InLocal(HashBytes(fresh)));
}

TEST_F(TieredBlobStoreTest, DamagedRemoteObjectIsCorruptionAndNeverStoredLocally) {
  const Bytes data = MakeContent(50000, Content::kRandom);
  const Digest d = PutRemoteOnly(data);
  const std::string key = t_.remote->KeyFor(d);
  std::string damaged = *t_.s3.ObjectForTest(key);
  damaged[damaged.size() / 2] ^= 0x20;
  t_.s3.SetObjectForTest(key, damaged);

  auto opened = store().Open(d);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code(), Code::kCorruption) << opened.error().ToString();
  EXPECT_FALSE(InLocal(d));
  std::set<Digest> listed;
  ASSERT_TRUE(t_.local->ForEach([&](const BlobInfo& i) { listed.insert(i.digest); }).ok());
  EXPECT_TRUE(listed.empty());

  // What CacheService does next: report it. The remote drops its bad copy,
  // so the next commit of the right bytes uploads them again.
  ASSERT_TRUE(store().ReportCorrupt(d).ok());
  EXPECT_FALSE(t_.s3.ObjectForTest(key).has_value());
  ASSERT_TRUE(WriteBlob(store(), data).ok());
  EXPECT_EQ(*t_.s3.ObjectForTest(key), std::string(reinterpret_cast<const char*>(data.data()), data.size()));
}

TEST_F(TieredBlobStoreTest, RemoveFreesTheLocalTierOnlyAndTheBlobReadsThroughAgain) {
  const Bytes data = MakeContent(20000, Content::kText);
  Result<BlobInfo> info = WriteBlob(store(), data);
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(store().Remove(info->digest).ok());
  EXPECT_FALSE(InLocal(info->digest));
  EXPECT_TRUE(t_.s3.ObjectForTest(t_.remote->KeyFor(info->digest)).has_value());
  Result<std::optional<Bytes>> back = ReadBlob(store(), info->digest);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_TRUE(**back == data);
  EXPECT_TRUE(InLocal(info->digest));
}

TEST_F(TieredBlobStoreTest, ForEachListsTheLocalTier) {
  Result<BlobInfo> here = WriteBlob(store(), MakeContent(10, Content::kText, 1));
  ASSERT_TRUE(here.ok());
  PutRemoteOnly(MakeContent(10, Content::kText, 2));
  std::set<Digest> listed;
  ASSERT_TRUE(store().ForEach([&](const BlobInfo& i) { listed.insert(i.digest); }).ok());
  EXPECT_EQ(listed, std::set<Digest>{here->digest});
  EXPECT_EQ(t_.s3.CountCalls(S3Op::kList), 0u);
}

}  // namespace
}  // namespace cellar::store

namespace cellar::store {
namespace {

TEST(TieredBlobStoreMetricsTest, ReadsAreCountedBySource) {
  metrics::Registry registry;
  auto& reads = registry.AddCounter("reads", "", {"source"});
  Tiers t(/*compress=*/false, TieredBlobStore::Options{.reads = &reads});
  const Bytes data = MakeContent(1000, Content::kRandom);
  ASSERT_TRUE(WriteBlob(*t.remote, data).ok());
  const Digest d = HashBytes(data);
  ASSERT_TRUE(ReadBlob(*t.tiered, d).ok());  // read through
  ASSERT_TRUE(ReadBlob(*t.tiered, d).ok());  // local hit
  ASSERT_TRUE(ReadBlob(*t.tiered, d).ok());  // local hit
  ASSERT_TRUE(ReadBlob(*t.tiered, HashBytes(MakeContent(10, Content::kRandom))).ok());  // absent
  ASSERT_TRUE(t.local->Remove(d).ok());
  TakeDown(t.s3);
  EXPECT_FALSE(t.tiered->Open(d).ok());
  EXPECT_EQ(reads.With({"remote"}).value(), 1u);
  EXPECT_EQ(reads.With({"local"}).value(), 2u);
  EXPECT_EQ(reads.With({"absent"}).value(), 1u);
  EXPECT_EQ(reads.With({"remote_error"}).value(), 1u);
}

}  // namespace
}  // namespace cellar::store
