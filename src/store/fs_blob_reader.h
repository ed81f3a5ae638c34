// Readers over FsBlobStore blob files: raw files are read with pread(2) and
// expose their payload range for sendfile(2); zstd files are decompressed as a
// stream with a bounded buffer, so a large blob is never held in memory.
// Used by FsBlobStore::Open(), the scrubber, and the writer's fallback from
// compressed to raw. Format: docs/blob-format.md.
// Thread-safety: a reader is a single-threaded object.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "store/blob_file_format.h"
#include "store/blob_store.h"
#include "store/fs_io.h"

namespace cellar::store {

struct BlobFileInfo {
  BlobFileHeader header;
  uint64_t file_size = 0;  // st_size
};

// Reads and validates the header and size of the open blob file `fd`
// (header decodes, file size fits the format). `what` names it in errors.
Result<BlobFileInfo> ReadBlobFileInfo(int fd, const std::string& what);

// A reader over the open blob file `fd`, which it owns and closes.
// Validates like ReadBlobFileInfo(); damaged payloads surface as kCorruption
// from Read().
Result<std::unique_ptr<BlobReader>> OpenBlobReader(UniqueFd fd, std::string what);
// The same when the header is already known (and validated).
std::unique_ptr<BlobReader> MakeBlobReader(UniqueFd fd, const BlobFileInfo& info, std::string what);

}  // namespace cellar::store
