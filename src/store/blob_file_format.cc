#include "store/blob_file_format.h"

#include <algorithm>
#include <string>

namespace cellar::store {

std::array<uint8_t, kBlobHeaderSize> EncodeBlobHeader(const BlobFileHeader& header) {
  std::array<uint8_t, kBlobHeaderSize> out{};
  std::copy(kBlobMagic.begin(), kBlobMagic.end(), out.begin());
  out[4] = static_cast<uint8_t>(header.format);
  out[5] = header.format == BlobFormat::kZstd && header.zstd_checksum ? kBlobFlagZstdChecksum : 0;
  // out[6..7] reserved, zero.
  for (int i = 0; i < 8; ++i) out[8 + i] = static_cast<uint8_t>(header.size >> (8 * i));
  return out;
}

Result<BlobFileHeader> DecodeBlobHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() < kBlobHeaderSize) {
    return Status::Corruption("blob file shorter than its " + std::to_string(kBlobHeaderSize) +
                              "-byte header");
  }
  if (!std::equal(kBlobMagic.begin(), kBlobMagic.end(), bytes.begin())) {
    return Status::Corruption("blob file has a bad magic number");
  }
  BlobFileHeader header;
  switch (bytes[4]) {
    case static_cast<uint8_t>(BlobFormat::kRaw):
      header.format = BlobFormat::kRaw;
      break;
    case static_cast<uint8_t>(BlobFormat::kZstd):
      header.format = BlobFormat::kZstd;
      break;
    default:
      return Status::Corruption("blob file has unknown format " + std::to_string(bytes[4]));
  }
  header.zstd_checksum =
      header.format == BlobFormat::kZstd && (bytes[5] & kBlobFlagZstdChecksum) != 0;
  header.size = 0;
  for (int i = 0; i < 8; ++i) header.size |= static_cast<uint64_t>(bytes[8 + i]) << (8 * i);
  return header;
}

Status CheckBlobFileSize(const BlobFileHeader& header, uint64_t file_size) {
  if (file_size < kBlobHeaderSize) return Status::Corruption("blob file shorter than its header");
  const uint64_t payload = file_size - kBlobHeaderSize;
  if (header.format == BlobFormat::kRaw && payload != header.size) {
    return Status::Corruption("raw blob file holds " + std::to_string(payload) +
                              " payload bytes, header says " + std::to_string(header.size));
  }
  if (header.format == BlobFormat::kZstd && payload == 0) {
    return Status::Corruption("compressed blob file has an empty payload");
  }
  return Status::Ok();
}

}  // namespace cellar::store
