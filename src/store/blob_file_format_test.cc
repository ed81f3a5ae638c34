#include "store/blob_file_format.h"

#include <gtest/gtest.h>

namespace cellar::store {
namespace {

TEST(BlobFileFormatTest, HeaderLayoutIsMagicFormatReservedLittleEndianSize) {
  const auto header = EncodeBlobHeader({BlobFormat::kZstd, 0x0102030405060708ull});
  const std::array<uint8_t, 16> expected = {'C',  'L',  'B',  0x01, 1,    0,    0,    0,
                                            0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
  EXPECT_EQ(header, expected);
}

TEST(BlobFileFormatTest, DecodeRoundTrips) {
  for (BlobFormat format : {BlobFormat::kRaw, BlobFormat::kZstd}) {
    for (uint64_t size : {uint64_t{0}, uint64_t{1}, ~uint64_t{0}}) {
      const auto bytes = EncodeBlobHeader({format, size});
      Result<BlobFileHeader> header = DecodeBlobHeader(bytes);
      ASSERT_TRUE(header.ok()) << header.status().ToString();
      EXPECT_EQ(header->format, format);
      EXPECT_EQ(header->size, size);
    }
  }
}

TEST(BlobFileFormatTest, ShortHeaderIsCorruption) {
  const auto bytes = EncodeBlobHeader({BlobFormat::kRaw, 5});
  for (size_t n : {size_t{0}, size_t{4}, size_t{15}}) {
    Result<BlobFileHeader> header = DecodeBlobHeader(std::span(bytes).first(n));
    ASSERT_FALSE(header.ok());
    EXPECT_EQ(header.error().code(), Code::kCorruption);
  }
}

TEST(BlobFileFormatTest, BadMagicIsCorruption) {
  auto bytes = EncodeBlobHeader({BlobFormat::kRaw, 5});
  bytes[1] ^= 0x20;
  Result<BlobFileHeader> header = DecodeBlobHeader(bytes);
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.error().code(), Code::kCorruption);
}

TEST(BlobFileFormatTest, UnknownFormatIsCorruption) {
  auto bytes = EncodeBlobHeader({BlobFormat::kRaw, 5});
  bytes[4] = 7;
  Result<BlobFileHeader> header = DecodeBlobHeader(bytes);
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.error().code(), Code::kCorruption);
}

TEST(BlobFileFormatTest, ReservedBytesAreIgnored) {
  auto bytes = EncodeBlobHeader({BlobFormat::kRaw, 5});
  bytes[6] = 0xff;
  EXPECT_TRUE(DecodeBlobHeader(bytes).ok());
}

TEST(BlobFileFormatTest, ChecksumFlagIsByteFiveBitZeroForZstdOnly) {
  const auto zstd = EncodeBlobHeader({BlobFormat::kZstd, 5, true});
  EXPECT_EQ(zstd[5], kBlobFlagZstdChecksum);
  Result<BlobFileHeader> decoded = DecodeBlobHeader(zstd);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->zstd_checksum);
  EXPECT_EQ(EncodeBlobHeader({BlobFormat::kRaw, 5, true})[5], 0);
  auto legacy = zstd;
  legacy[5] = 0;
  decoded = DecodeBlobHeader(legacy);
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->zstd_checksum);
  legacy[5] = 0xfe;  // unknown flag bits are ignored
  decoded = DecodeBlobHeader(legacy);
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->zstd_checksum);
}

TEST(BlobFileFormatTest, RawFileSizeMustMatchHeader) {
  const BlobFileHeader header{BlobFormat::kRaw, 100};
  EXPECT_TRUE(CheckBlobFileSize(header, 116).ok());
  EXPECT_EQ(CheckBlobFileSize(header, 115).code(), Code::kCorruption);
  EXPECT_EQ(CheckBlobFileSize(header, 117).code(), Code::kCorruption);
  EXPECT_TRUE(CheckBlobFileSize({BlobFormat::kRaw, 0}, 16).ok());
}

TEST(BlobFileFormatTest, ZstdFileNeedsAPayload) {
  EXPECT_EQ(CheckBlobFileSize({BlobFormat::kZstd, 100}, 16).code(), Code::kCorruption);
  EXPECT_TRUE(CheckBlobFileSize({BlobFormat::kZstd, 100}, 40).ok());
}

}  // namespace
}  // namespace cellar::store
