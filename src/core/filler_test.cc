#include "core/filler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/fake_upstream_source.h"
#include "index/mem_index.h"
#include "store/mem_blob_store.h"

namespace cellar::core {
namespace {

using FakeSource = FakeUpstreamSource;

class FillerTest : public ::testing::Test {
 protected:
  explicit FillerTest(CacheOptions options = CacheOptions{})
      : metrics_(registry_), cache_(blobs_, index_, clock_, metrics_, std::move(options)),
        spool_(::testing::TempDir()) {}

  FillSpec Spec(const std::string& key, std::string data, bool fail = false, bool announce_size = true) {
    FillSpec spec;
    spec.put.ns = "npm/tarball";
    spec.put.key = key;
    spec.open = [this, data, fail, announce_size]() -> Result<std::unique_ptr<UpstreamSource>> {
      opens_++;
      return std::unique_ptr<UpstreamSource>(new FakeSource(data, fail, announce_size));
    };
    return spec;
  }

  static Result<std::string> Drain(FillReader& r) {
    std::string out;
    std::byte buf[777];
    while (true) {
      CELLAR_ASSIGN_OR_RETURN(size_t n, r.Read(buf));
      if (n == 0) return out;
      out.append(reinterpret_cast<char*>(buf), n);
    }
  }

  env::FakeClock clock_;
  store::MemBlobStore blobs_;
  index::MemIndex index_;
  metrics::Registry registry_;
  CacheMetrics metrics_;
  CacheService cache_;
  std::string spool_;
  std::atomic<int> opens_{0};
};

TEST_F(FillerTest, ConcurrentColdRequestsShareOneUpstreamFetch) {
  std::string data(50'000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 % 251);
  constexpr int kClients = 20;
  std::vector<std::string> results(kClients);
  {
    Filler filler(cache_, spool_);
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&, i] {
        auto reader = filler.GetOrFill(Spec("pkg.tgz", data));
        ASSERT_TRUE(reader.ok()) << reader.error().ToString();
        auto body = Drain(**reader);
        ASSERT_TRUE(body.ok()) << body.error().ToString();
        results[i] = *body;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(filler.fills_started(), 1u);
  }
  EXPECT_EQ(opens_.load(), 1);
  for (const auto& r : results) EXPECT_EQ(r, data);
  // Later requests are hits.
  Filler filler(cache_, spool_);
  auto reader = filler.GetOrFill(Spec("pkg.tgz", data));
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE((*reader)->from_cache());
  EXPECT_EQ(opens_.load(), 1);
}

TEST_F(FillerTest, FailedFillStoresNothingAndEveryReaderSeesTheError) {
  std::string data(20'000, 'x');
  {
    Filler filler(cache_, spool_);
    std::vector<std::thread> threads;
    std::atomic<int> errors{0};
    for (int i = 0; i < 5; ++i) {
      threads.emplace_back([&] {
        auto reader = filler.GetOrFill(Spec("bad.tgz", data, /*fail=*/true));
        if (!reader.ok()) {
          errors++;
          return;
        }
        if (!Drain(**reader).ok()) errors++;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 5);
  }
  EXPECT_FALSE(*cache_.Get("npm/tarball", "bad.tgz"));
  int blobs = 0;
  ASSERT_TRUE(blobs_.ForEach([&](const store::BlobInfo&) { ++blobs; }).ok());
  EXPECT_EQ(blobs, 0);
}

TEST_F(FillerTest, UpstreamNotFoundIsReturnedBeforeAnyBytes) {
  Filler filler(cache_, spool_);
  FillSpec spec;
  spec.put.ns = "npm/tarball";
  spec.put.key = "missing.tgz";
  spec.open = []() -> Result<std::unique_ptr<UpstreamSource>> { return Status::NotFound("no such package"); };
  auto reader = filler.GetOrFill(std::move(spec));
  EXPECT_TRUE(reader.status().IsNotFound());
}

TEST_F(FillerTest, LastByteIsWithheldUntilTheFillIsVerified) {
  Filler filler(cache_, spool_);
  auto spec = Spec("held.tgz", std::string(5000, 'h'));
  spec.put.verifier = std::make_unique<SizeVerifier>(4999);  // will reject
  auto reader = filler.GetOrFill(std::move(spec));
  ASSERT_TRUE(reader.ok());
  uint64_t delivered = 0;
  std::byte buf[8192];
  while (true) {
    auto n = (*reader)->Read(buf);
    if (!n.ok()) break;
    ASSERT_NE(*n, 0u) << "a rejected fill must not end cleanly";
    delivered += *n;
  }
  EXPECT_LT(delivered, 5000u);
}

TEST_F(FillerTest, VerifierRejectionFailsTheFill) {
  Filler filler(cache_, spool_);
  auto spec = Spec("wrong.tgz", "payload");
  spec.put.verifier = std::make_unique<SizeVerifier>(3);
  auto reader = filler.GetOrFill(std::move(spec));
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE(Drain(**reader).ok());
  EXPECT_FALSE(*cache_.Get("npm/tarball", "wrong.tgz"));
}

TEST_F(FillerTest, BeforeCommitSeesTheWholeSpoolAndSetsAttributes) {
  Filler filler(cache_, spool_);
  auto spec = Spec("checked.zip", std::string(5000, 'z') + "END");
  std::string seen;
  spec.before_commit = [&seen](int fd, uint64_t size, PendingPut* put) -> Status {
    seen.resize(size);
    if (::pread(fd, seen.data(), size, 0) != static_cast<ssize_t>(size)) return Status::Internal("short read");
    if (put) put->set_attributes(R"({"h1":"h1:abc"})");
    return Status();
  };
  auto reader = filler.GetOrFill(std::move(spec));
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE((*reader)->WaitForEnd().ok());
  auto body = Drain(**reader);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(seen, *body);
  auto hit = filler.GetOrFill(Spec("checked.zip", "unused"));
  ASSERT_TRUE(hit.ok());
  EXPECT_TRUE((*hit)->from_cache());
  EXPECT_EQ((*hit)->attributes(), R"({"h1":"h1:abc"})");
}

TEST_F(FillerTest, BeforeCommitRefusalStoresNothingAndReportsTheReason) {
  Filler filler(cache_, spool_);
  auto spec = Spec("tampered.zip", std::string(4000, 't'));
  spec.before_commit = [](int, uint64_t, PendingPut*) { return Status::Corruption("checksum mismatch"); };
  auto reader = filler.GetOrFill(std::move(spec));
  ASSERT_TRUE(reader.ok());
  Status end = (*reader)->WaitForEnd();
  EXPECT_EQ(end.code(), Code::kCorruption);
  EXPECT_EQ(end.message(), "checksum mismatch");
  EXPECT_FALSE(Drain(**reader).ok());
  EXPECT_FALSE(*cache_.Get("npm/tarball", "tampered.zip"));
}

// A store that can never make room: 2000 bytes in all, bodies of 5000.
class FullStoreFillerTest : public FillerTest {
 protected:
  static CacheOptions Tiny() {
    CacheOptions o;
    o.max_bytes = 2000;
    return o;
  }
  FullStoreFillerTest() : FillerTest(Tiny()) {}
  uint64_t Fills(const std::string& result) {
    return metrics_.fills.With({"npm", result}).value();
  }
};

TEST_F(FullStoreFillerTest, AnnouncedBodyTooLargeForTheStoreIsPassedThrough) {
  Filler filler(cache_, spool_);
  std::string data(5000, 'p');
  data += "END";
  auto reader = filler.GetOrFill(Spec("big.tgz", data));
  ASSERT_TRUE(reader.ok()) << reader.error().ToString();
  EXPECT_TRUE((*reader)->WaitForEnd().ok());
  EXPECT_FALSE((*reader)->stored());
  EXPECT_EQ((*reader)->size(), data.size());
  auto body = Drain(**reader);
  ASSERT_TRUE(body.ok()) << body.error().ToString();
  EXPECT_EQ(*body, data);
  EXPECT_FALSE(*cache_.Get("npm/tarball", "big.tgz"));
  EXPECT_EQ(Fills("uncached"), 1u);
  EXPECT_EQ(Fills("ok"), 0u);
  // Nothing was kept, so the next request fills again.
  auto again = filler.GetOrFill(Spec("big.tgz", data));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)->from_cache());
  EXPECT_EQ(*Drain(**again), data);
  EXPECT_EQ(opens_.load(), 2);
}

TEST_F(FullStoreFillerTest, UnannouncedBodyOutgrowingTheStoreIsPassedThroughToEveryReader) {
  Filler filler(cache_, spool_);
  std::string data(5000, 'q');
  auto first = filler.GetOrFill(Spec("chunked.tgz", data, false, /*announce_size=*/false));
  auto second = filler.GetOrFill(Spec("chunked.tgz", data, false, false));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*Drain(**first), data);
  EXPECT_EQ(*Drain(**second), data);
  EXPECT_FALSE((*first)->stored());
  EXPECT_EQ((*first)->size(), data.size());  // known once the fill ended
  EXPECT_EQ(opens_.load(), 1);
  EXPECT_EQ(Fills("uncached"), 1u);
}

TEST_F(FullStoreFillerTest, PassedThroughBytesAreStillVerified) {
  Filler filler(cache_, spool_);
  auto spec = Spec("wrong.tgz", std::string(5000, 'w'));
  spec.put.verifier = std::make_unique<SizeVerifier>(4999);
  auto reader = filler.GetOrFill(std::move(spec));
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE((*reader)->WaitForEnd().ok());
  EXPECT_FALSE(Drain(**reader).ok());
  EXPECT_EQ(metrics_.rejected.With({"npm", "verification"}).value(), 1u);

  auto zip = Spec("bad.zip", std::string(5000, 'z'));
  PendingPut* seen = reinterpret_cast<PendingPut*>(1);
  zip.before_commit = [&seen](int, uint64_t, PendingPut* put) {
    seen = put;
    return Status::Corruption("checksum mismatch");
  };
  auto refused = filler.GetOrFill(std::move(zip));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ((*refused)->WaitForEnd().code(), Code::kCorruption);
  EXPECT_EQ(seen, nullptr);  // told that nothing is being stored
}

TEST_F(FillerTest, BodyThatFitsIsStoredAsBefore) {
  Filler filler(cache_, spool_);
  auto reader = filler.GetOrFill(Spec("fits.tgz", "small"));
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE((*reader)->WaitForEnd().ok());
  EXPECT_TRUE((*reader)->stored());
  EXPECT_TRUE(*cache_.Get("npm/tarball", "fits.tgz"));
  EXPECT_EQ(metrics_.fills.With({"npm", "ok"}).value(), 1u);
}

}  // namespace
}  // namespace cellar::core
