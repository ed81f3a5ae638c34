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

// A write with no other write of its key in between.
void Put(EntryCache& cache, const index::Entry& e) {
  cache.Store(e, cache.write_sequence(e.ns, e.key));
}

TEST(EntryCacheTest, PutGetEraseAndEvictLeastRecent) {
  EntryCache cache(2);
  Put(cache, E("a", 1));
  Put(cache, E("b", 2));
  ASSERT_TRUE(cache.Get("ns", "a"));  // a is now most recent
  Put(cache, E("c", 3));              // evicts b
  EXPECT_FALSE(cache.Get("ns", "b"));
  EXPECT_EQ(cache.Get("ns", "a")->size, 1u);
  cache.Erase("ns", "a");
  EXPECT_FALSE(cache.Get("ns", "a"));
}

TEST(EntryCacheTest, StaleReaderFillIsDropped) {
  EntryCache cache(8);
  uint64_t seq = cache.write_sequence("ns", "k");  // a reader starts loading "k"
  Put(cache, E("k", 2));                  // a writer replaces it meanwhile
  cache.FillIfUnchanged(E("k", 1), seq);  // the reader's old value
  EXPECT_EQ(cache.Get("ns", "k")->size, 2u);
  seq = cache.write_sequence("ns", "k");
  cache.Erase("ns", "k");
  cache.FillIfUnchanged(E("k", 1), seq);
  EXPECT_FALSE(cache.Get("ns", "k"));
}

// Two writers of one key: the index kept the second (size 2), but the first
// reaches the cache last. Neither may be left cached as if it were current.
TEST(EntryCacheTest, WritersThatCrossKeepNoStaleEntry) {
  EntryCache cache(8);
  uint64_t first = cache.write_sequence("ns", "k");
  uint64_t second = cache.write_sequence("ns", "k");
  cache.Store(E("k", 2), second);  // the index's latest value arrives first
  cache.Store(E("k", 1), first);   // the loser arrives last
  EXPECT_FALSE(cache.Get("ns", "k"));
  // A writer that no other write crossed is cached.
  first = cache.write_sequence("ns", "k");
  cache.Store(E("k", 3), first);
  EXPECT_EQ(cache.Get("ns", "k")->size, 3u);
}

TEST(EntryCacheTest, ZeroCapacityCachesNothing) {
  EntryCache cache(0);
  Put(cache, E("a", 1));
  EXPECT_FALSE(cache.Get("ns", "a"));
}

}  // namespace
}  // namespace cellar::core
