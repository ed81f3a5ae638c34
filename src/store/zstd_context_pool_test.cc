#include "store/zstd_context_pool.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cellar::store {
namespace {

// Compresses `text` as one frame with `cctx`; returns the frame.
std::string Frame(ZSTD_CCtx* cctx, const std::string& text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  ZSTD_inBuffer in{text.data(), text.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  EXPECT_EQ(ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end), 0u);
  out.resize(o.pos);
  return out;
}

TEST(ZstdContextPoolTest, ReleasedContextsAreReused) {
  ZstdContextPool pool(2);
  ZSTD_CCtx* first = nullptr;
  {
    Result<ZstdContextPool::Lease> lease = pool.Acquire(3);
    ASSERT_TRUE(lease.ok());
    first = lease->get();
  }
  EXPECT_EQ(pool.idle_for_test(), 1u);
  Result<ZstdContextPool::Lease> again = pool.Acquire(3);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), first);
  EXPECT_EQ(pool.idle_for_test(), 0u);
}

TEST(ZstdContextPoolTest, KeepsAtMostMaxIdle) {
  ZstdContextPool pool(2);
  {
    std::vector<ZstdContextPool::Lease> leases;
    for (int i = 0; i < 5; ++i) {
      Result<ZstdContextPool::Lease> lease = pool.Acquire(3);
      ASSERT_TRUE(lease.ok());
      leases.push_back(std::move(*lease));
    }
  }
  EXPECT_EQ(pool.idle_for_test(), 2u);
}

TEST(ZstdContextPoolTest, ContextReturnedMidFrameStartsCleanFrames) {
  const std::string text(100000, 'x');
  ZstdContextPool pool(1);
  std::string fresh;
  {
    Result<ZstdContextPool::Lease> lease = pool.Acquire(3);
    ASSERT_TRUE(lease.ok());
    fresh = Frame(lease->get(), text);
  }
  {
    // Abandon a frame half-way, as a failed upload does.
    Result<ZstdContextPool::Lease> lease = pool.Acquire(3);
    ASSERT_TRUE(lease.ok());
    std::string sink(1 << 16, '\0');
    ZSTD_inBuffer in{text.data(), text.size() / 2, 0};
    ZSTD_outBuffer o{sink.data(), sink.size(), 0};
    ASSERT_FALSE(ZSTD_isError(ZSTD_compressStream2(lease->get(), &o, &in, ZSTD_e_continue)));
  }
  Result<ZstdContextPool::Lease> reused = pool.Acquire(3);
  ASSERT_TRUE(reused.ok());
  const std::string frame = Frame(reused->get(), text);
  EXPECT_EQ(frame, fresh);
  std::string back(text.size(), '\0');
  EXPECT_EQ(ZSTD_decompress(back.data(), back.size(), frame.data(), frame.size()), text.size());
  EXPECT_EQ(back, text);
}

}  // namespace
}  // namespace cellar::store
