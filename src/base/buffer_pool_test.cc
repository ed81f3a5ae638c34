#include "base/buffer_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace cellar {
namespace {

TEST(BufferPoolTest, ReleasedBuffersAreReused) {
  BufferPool<uint8_t> pool(4096, 2);
  EXPECT_EQ(pool.buffer_size(), 4096u);
  uint8_t* first = nullptr;
  {
    BufferPool<uint8_t>::Buffer buf = pool.Acquire();
    first = buf.get();
    buf[4095] = 7;
  }
  EXPECT_EQ(pool.idle_for_test(), 1u);
  BufferPool<uint8_t>::Buffer again = pool.Acquire();
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(pool.idle_for_test(), 0u);
}

TEST(BufferPoolTest, KeepsAtMostMaxIdle) {
  BufferPool<std::byte> pool(1024, 3);
  {
    std::vector<BufferPool<std::byte>::Buffer> held;
    for (int i = 0; i < 10; ++i) held.push_back(pool.Acquire());
    for (size_t i = 0; i < held.size(); ++i) {
      for (size_t j = i + 1; j < held.size(); ++j) EXPECT_NE(held[i].get(), held[j].get());
    }
  }
  EXPECT_EQ(pool.idle_for_test(), 3u);
}

TEST(BufferPoolTest, ConcurrentUseKeepsBuffersApart) {
  BufferPool<uint8_t> pool(256, 4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 2000; ++i) {
        BufferPool<uint8_t>::Buffer buf = pool.Acquire();
        for (int j = 0; j < 256; ++j) buf[j] = static_cast<uint8_t>(t);
        for (int j = 0; j < 256; ++j) ASSERT_EQ(buf[j], static_cast<uint8_t>(t));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(pool.idle_for_test(), 4u);
}

}  // namespace
}  // namespace cellar
