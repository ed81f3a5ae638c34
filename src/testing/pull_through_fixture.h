// A cache with fake time and a scripted upstream, for in-process tests of
// the pull-through proxies (protocols/common/pull_through.h and its users):
// an in-memory blob store and index, a FakeClock and an env::FakeHttpClient.
// Test-only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/cache_service.h"
#include "core/cache_test_util.h"
#include "env/clock.h"
#include "env/fake_http_client.h"
#include "index/mem_index.h"
#include "index/mem_shared_entries.h"
#include "metrics/metrics.h"
#include "store/mem_blob_store.h"

namespace cellar::testing {

class PullThroughFixture : public ::testing::Test {
 protected:
  // With `share_entries`, the cache shares its immutable entries through
  // shared_entries_, as `--storage s3` does through the bucket.
  explicit PullThroughFixture(bool share_entries = false)
      : index_([this] { return clock_.NowUnixMs(); }),
        metrics_(registry_),
        cache_(blobs_, index_, clock_, metrics_, Options(share_entries, shared_entries_)) {}

  static core::CacheOptions Options(bool share_entries, index::SharedEntries& shared) {
    core::CacheOptions options;
    if (share_entries) options.shared_entries = &shared;
    return options;
  }

  // The stored bytes of (ns, key), or "<absent>".
  std::string Read(const std::string& ns, const std::string& key) {
    auto hit = cache_.Get(ns, key);
    if (!hit.ok() || !*hit) return "<absent>";
    return ReadHit(***hit);
  }

  static std::string ReadHit(core::Hit& hit) { return core::ReadAll(hit); }

  env::FakeClock clock_;
  store::MemBlobStore blobs_;
  index::MemIndex index_;
  metrics::Registry registry_;
  core::CacheMetrics metrics_;
  index::MemSharedEntries shared_entries_;
  core::CacheService cache_;
  env::FakeHttpClient upstream_;
};

}  // namespace cellar::testing
