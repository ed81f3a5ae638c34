// FsStoreContext: the immutable configuration and paths an FsBlobStore shares
// with its writers (which may outlive the store), plus the one lock that
// orders renames. Internal to src/store.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/buffer_pool.h"
#include "base/digest.h"
#include "store/fs_blob_store.h"
#include "store/zstd_context_pool.h"

namespace cellar::store {

struct FsStoreContext {
  FsBlobStore::Options options;
  std::string blobs_dir;       // <root>/blobs
  std::string tmp_dir;         // <root>/tmp
  std::string quarantine_dir;  // <root>/quarantine

  // Held while a file under blobs/ is replaced by rename(2): by a writer
  // replacing a damaged file, and by the scrubber checking that the file it
  // judged is still the one under the name before quarantining it. Without it
  // a scrub could quarantine a freshly committed good copy.
  std::mutex rename_mu;

  // Compression contexts and write buffers shared by this store's writers.
  ZstdContextPool zstd_contexts;
  std::unique_ptr<BufferPool<uint8_t>> write_buffers;

  // Blob files moved to quarantine/ since the store was opened, by anyone
  // (scrub, a commit that found a damaged copy, ReportCorrupt).
  std::atomic<uint64_t> quarantined{0};

  // Makes temp names unique within the process (the pid covers the rest).
  std::atomic<uint64_t> next_tmp_id{0};

  // <blobs>/ab
  std::string FanoutDir(const Digest& digest) const {
    return blobs_dir + '/' + digest.Hex().substr(0, 2);
  }
  // <blobs>/ab/<hex>
  std::string BlobPath(const Digest& digest) const {
    std::string hex = digest.Hex();
    return blobs_dir + '/' + hex.substr(0, 2) + '/' + hex;
  }
  const FaultInjector* faults() const { return &options.fault_injector_for_test; }
};

}  // namespace cellar::store
