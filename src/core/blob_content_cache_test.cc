#include "core/blob_content_cache.h"

#include <gtest/gtest.h>

namespace cellar::core {
namespace {

Digest D(uint8_t b) {
  Digest d;
  d.bytes.fill(b);
  return d;
}

TEST(BlobContentCacheTest, KeepsWithinBudgetLeastRecentFirstOut) {
  BlobContentCache cache(10);
  cache.Put(D(1), std::make_shared<std::string>("aaaa"));
  cache.Put(D(2), std::make_shared<std::string>("bbbb"));
  ASSERT_TRUE(cache.Get(D(1)));                              // 1 is now most recent
  cache.Put(D(3), std::make_shared<std::string>("cccc"));   // 12 bytes > 10: evict 2
  EXPECT_FALSE(cache.Get(D(2)));
  EXPECT_EQ(*cache.Get(D(1)), "aaaa");
  EXPECT_EQ(cache.bytes(), 8u);
  cache.Put(D(4), std::make_shared<std::string>(std::string(11, 'x')));  // larger than the budget
  EXPECT_FALSE(cache.Get(D(4)));
}

TEST(MemoryBlobReaderTest, ReadsInPieces) {
  MemoryBlobReader r(std::make_shared<std::string>("hello"));
  std::byte buf[3];
  EXPECT_EQ(*r.Read(buf), 3u);
  EXPECT_EQ(*r.Read(buf), 2u);
  EXPECT_EQ(*r.Read(buf), 0u);
  EXPECT_FALSE(r.RawFile());
}

}  // namespace
}  // namespace cellar::core
