#include "tasks/artifact/zstd_stream.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <random>

#include "tasks/artifact/artifact_test_util.h"

namespace cellar::artifact {
namespace {

using testing::ReadFile;
using testing::TempDir;

class ZstdStreamTest : public ::testing::Test {
 protected:
  std::string Compress(const std::string& data) {
    int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ZstdFileWriter writer(fd, 3);
    // Several writes of odd sizes, as libarchive makes them.
    for (size_t at = 0; at < data.size(); at += 10007) {
      EXPECT_TRUE(writer.Write(data.data() + at, std::min<size_t>(10007, data.size() - at)).ok());
    }
    EXPECT_TRUE(writer.Finish().ok());
    ::close(fd);
    std::string bytes = ReadFile(file_);
    EXPECT_EQ(writer.compressed_bytes(), bytes.size());
    return bytes;
  }

  Result<std::string> Decompress(const std::string& bytes) {
    testing::WriteFile(file_, bytes);
    int fd = ::open(file_.c_str(), O_RDONLY);
    ZstdFileReader reader(fd);
    std::string out;
    for (;;) {
      auto chunk = reader.Read();
      if (!chunk.ok()) {
        ::close(fd);
        return chunk.error();
      }
      if (chunk->empty()) break;
      out.append(chunk->data(), chunk->size());
    }
    ::close(fd);
    return out;
  }

  TempDir dir_;
  std::string file_ = dir_ / "data.zst";
};

TEST_F(ZstdStreamTest, RoundTripsDataLargerThanTheBuffers) {
  std::mt19937 rng(7);
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(rng() % 16);
  auto out = Decompress(Compress(data));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, data);
}

TEST_F(ZstdStreamTest, RoundTripsHighlyCompressibleData) {
  // 16 MiB of zeros compress to a few hundred bytes: one read of the file feeds more than a
  // hundred output buffers.
  std::string data(16 << 20, '\0');
  auto out = Decompress(Compress(data));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->size(), data.size());
}

TEST_F(ZstdStreamTest, RefusesAFrameWithoutChecksum) {
  std::string data = "hello hello hello";
  std::string frame(ZSTD_compressBound(data.size()), '\0');
  frame.resize(ZSTD_compress(frame.data(), frame.size(), data.data(), data.size(), 3));
  auto out = Decompress(frame);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kCorruption);
}

TEST_F(ZstdStreamTest, RefusesASecondFrame) {
  std::string frame = Compress("abc");
  auto out = Decompress(frame + frame);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kCorruption);
}

TEST_F(ZstdStreamTest, ChecksumCatchesAChangeTheDecoderAccepts) {
  std::string frame = Compress("a literal block that the decoder copies as is");
  ASSERT_TRUE(Decompress(frame).ok());
  // Near the end of a tiny frame the literals are raw; changing one changes the content.
  std::string bad = frame;
  bad[bad.size() - 10] = static_cast<char>(bad[bad.size() - 10] ^ 1);
  auto out = Decompress(bad);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace cellar::artifact
