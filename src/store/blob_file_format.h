// The header every FsBlobStore blob file starts with: what the payload is
// (raw bytes or one zstd frame) and the blob's logical size. Used by the
// FsBlobStore writer, readers and scrubber; nothing outside src/store reads
// blob files. Format description: docs/blob-format.md.
// Thread-safety: pure functions on values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/status.h"

namespace cellar::store {

inline constexpr size_t kBlobHeaderSize = 16;
// "CLB" plus a version byte; a new incompatible layout gets a new magic.
inline constexpr std::array<uint8_t, 4> kBlobMagic = {'C', 'L', 'B', 0x01};

enum class BlobFormat : uint8_t {
  kRaw = 0,   // payload is the logical bytes
  kZstd = 1,  // payload is exactly one zstd frame
};

// Bits of header byte 5 (flags). Unknown bits are ignored by readers.
// The zstd frame carries its content checksum, and readers must insist on
// it. Files written before the flag existed have it clear; their frames may
// lack the checksum and are then only verified by hashing (scrub).
inline constexpr uint8_t kBlobFlagZstdChecksum = 0x01;

struct BlobFileHeader {
  BlobFormat format = BlobFormat::kRaw;
  uint64_t size = 0;  // logical (uncompressed) size
  // kZstd only: the frame must carry a content checksum (kBlobFlagZstdChecksum).
  bool zstd_checksum = false;
};

std::array<uint8_t, kBlobHeaderSize> EncodeBlobHeader(const BlobFileHeader& header);

// Parses the first kBlobHeaderSize bytes of a blob file. A short buffer, a
// wrong magic or an unknown format is kCorruption; reserved bytes and unknown
// flag bits are ignored.
Result<BlobFileHeader> DecodeBlobHeader(std::span<const uint8_t> bytes);

// Checks that a file of `file_size` bytes can hold the payload `header`
// describes: a raw file is exactly header + size bytes; a zstd file has a
// non-empty payload. kCorruption otherwise (e.g. a truncated file).
Status CheckBlobFileSize(const BlobFileHeader& header, uint64_t file_size);

}  // namespace cellar::store
