// Issue 13, defect 7: CacheService never serves a small blob whose bytes do
// not hash to its digest; the damaged copy is dropped and a re-upload
// repairs it for every namespace that refers to it.
#include <gtest/gtest.h>

#include <string>

#include "core/cache_service.h"
#include "hash/blake3.h"
#include "index/mem_index.h"
#include "store/mem_blob_store.h"

namespace cellar::core {
namespace {

class CacheServiceIntegrityTest : public ::testing::Test {
 protected:
  CacheServiceIntegrityTest()
      : index_([this] { return clock_.NowUnixMs(); }), metrics_(registry_), cache_(Make()) {}

  std::unique_ptr<CacheService> Make() {
    return std::make_unique<CacheService>(blobs_, index_, clock_, metrics_, CacheOptions{});
  }

  Status Put(const std::string& ns, const std::string& key, const std::string& data) {
    PutOptions o;
    o.ns = ns;
    o.key = key;
    CELLAR_ASSIGN_OR_RETURN(auto put, cache_->BeginPut(std::move(o)));
    CELLAR_RETURN_IF_ERROR(put->Write(std::as_bytes(std::span(data.data(), data.size()))));
    return put->Commit().status();
  }

  // The bytes served for ns/key, or nullopt on a miss.
  std::optional<std::string> Serve(const std::string& ns, const std::string& key) {
    auto hit = cache_->Get(ns, key);
    EXPECT_TRUE(hit.ok()) << hit.status().ToString();
    if (!hit.ok() || !*hit) return std::nullopt;
    std::string out;
    std::byte buf[4096];
    for (;;) {
      auto n = (**hit)->reader().Read(buf);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      out.append(reinterpret_cast<const char*>(buf), *n);
    }
    return out;
  }

  static Digest DigestOf(const std::string& data) {
    hash::Blake3Hasher hasher;
    hasher.Update(data.data(), data.size());
    return Digest{hasher.Finalize()};
  }

  env::FakeClock clock_;
  store::MemBlobStore blobs_;
  index::MemIndex index_;
  metrics::Registry registry_;
  CacheMetrics metrics_;
  std::unique_ptr<CacheService> cache_;
};

TEST_F(CacheServiceIntegrityTest, DamagedSmallBlobIsAMissNeverWrongBytes) {
  const std::string data(10000, 'x');
  ASSERT_TRUE(Put("ccache", "a", data).ok());
  const Digest digest = DigestOf(data);
  ASSERT_TRUE(blobs_.DamageForTest(digest, 1234));

  EXPECT_EQ(Serve("ccache", "a"), std::nullopt);
  // The store was told: the damaged copy is gone, not kept for the next reader.
  auto stat = blobs_.Stat(digest);
  ASSERT_TRUE(stat.ok());
  EXPECT_FALSE(stat->has_value());
}

TEST_F(CacheServiceIntegrityTest, ReuploadRepairsTheBlobForEveryNamespace) {
  const std::string data(20000, 'y');
  ASSERT_TRUE(Put("ccache", "a", data).ok());
  ASSERT_TRUE(Put("gradle", "b", data).ok());
  ASSERT_TRUE(blobs_.DamageForTest(DigestOf(data), 0));

  EXPECT_EQ(Serve("ccache", "a"), std::nullopt);
  ASSERT_TRUE(Put("ccache", "a", data).ok());
  EXPECT_EQ(Serve("ccache", "a"), data);
  EXPECT_EQ(Serve("gradle", "b"), data);  // its entry refers to the same digest
}

TEST_F(CacheServiceIntegrityTest, IntactSmallBlobIsServedFromMemory) {
  const std::string data(3000, 'z');
  ASSERT_TRUE(Put("ccache", "a", data).ok());
  EXPECT_EQ(Serve("ccache", "a"), data);
  EXPECT_EQ(Serve("ccache", "a"), data);
  auto hit = cache_->Get("ccache", "a");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_NE((**hit)->bytes_in_memory(), nullptr);
}

}  // namespace
}  // namespace cellar::core
