#include "core/entry_cache.h"

#include <gtest/gtest.h>

namespace cellar::core {
namespace {

index::Entry E(const std::string& key, uint64_t size) {
  index::Entry e;
  e.ns = "ns";
  e.key = key;
  e.size = size;
  return e;
}

TEST(EntryCacheTest, PutGetEraseAndEvictLeastRecent) {
  EntryCache cache(2);
  cache.Put(E("a", 1));
  cache.Put(E("b", 2));
  ASSERT_TRUE(cache.Get("ns", "a"));  // a is now most recent
  cache.Put(E("c", 3));               // evicts b
  EXPECT_FALSE(cache.Get("ns", "b"));
  EXPECT_EQ(cache.Get("ns", "a")->size, 1u);
  cache.Erase("ns", "a");
  EXPECT_FALSE(cache.Get("ns", "a"));
}

TEST(EntryCacheTest, StaleReaderFillIsDropped) {
  EntryCache cache(8);
  uint64_t seq = cache.write_sequence();  // a reader starts loading "k"
  cache.Put(E("k", 2));                   // a writer replaces it meanwhile
  cache.FillIfUnchanged(E("k", 1), seq);  // the reader's old value
  EXPECT_EQ(cache.Get("ns", "k")->size, 2u);
  seq = cache.write_sequence();
  cache.Erase("ns", "k");
  cache.FillIfUnchanged(E("k", 1), seq);
  EXPECT_FALSE(cache.Get("ns", "k"));
}

TEST(EntryCacheTest, ZeroCapacityCachesNothing) {
  EntryCache cache(0);
  cache.Put(E("a", 1));
  EXPECT_FALSE(cache.Get("ns", "a"));
}

}  // namespace
}  // namespace cellar::core
