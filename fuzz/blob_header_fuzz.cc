// The 16-byte header of FsBlobStore blob files (read back from disk, where
// anything may have happened to it). Input: header bytes, then 8 bytes of
// a file size for CheckBlobFileSize.
#include <cstring>

#include "fuzz/fuzz_util.h"
#include "store/blob_file_format.h"

using namespace cellar;
using namespace cellar::store;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto header = DecodeBlobHeader(std::span<const uint8_t>(data, size));
  if (!header.ok()) return 0;
  FUZZ_CHECK(size >= kBlobHeaderSize);
  FUZZ_CHECK(header->format == BlobFormat::kRaw || header->format == BlobFormat::kZstd);
  // Encoding gives back the bytes read, except the reserved ones (5..7).
  auto encoded = EncodeBlobHeader(*header);
  FUZZ_CHECK(std::memcmp(encoded.data(), data, 5) == 0 && std::memcmp(encoded.data() + 8, data + 8, 8) == 0);
  auto again = DecodeBlobHeader(encoded);
  FUZZ_CHECK(again.ok() && again->format == header->format && again->size == header->size);

  uint64_t file_size = 0;
  if (size >= kBlobHeaderSize + 8) std::memcpy(&file_size, data + kBlobHeaderSize, 8);
  Status fits = CheckBlobFileSize(*header, file_size);
  if (fits.ok()) {
    FUZZ_CHECK(file_size >= kBlobHeaderSize);
    if (header->format == BlobFormat::kRaw) FUZZ_CHECK(file_size - kBlobHeaderSize == header->size);
    if (header->format == BlobFormat::kZstd) FUZZ_CHECK(file_size > kBlobHeaderSize);
  }
  return 0;
}
