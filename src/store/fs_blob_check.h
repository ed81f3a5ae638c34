// Checking a blob file against its name and quarantining it when it does not
// match: shared by the scrubber (FsBlobStore::Verify), the writer (a commit
// that finds its blob already in place checks that copy) and
// FsBlobStore::ReportCorrupt. Internal to src/store; format and policy in
// docs/blob-format.md.
// Thread-safety: free functions; quarantining takes FsStoreContext::rename_mu.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "base/digest.h"
#include "base/status.h"
#include "store/fs_blob_store.h"
#include "store/fs_io.h"
#include "store/fs_store_context.h"

namespace cellar::store {

// Bad blob versus failed check: damaged contents and I/O errors reading the
// file (EIO maps to kUnavailable) condemn the blob; anything else (EMFILE,
// EACCES, kAborted, ...) says nothing about it.
bool CondemnsBlob(const Status& status);

// Hashes the logical content of the open blob file `fd` (decompressing).
// `scratch` is the read buffer; `pace` may be null, and when it returns false
// the hash is abandoned with kAborted.
Result<Digest> HashBlobFile(UniqueFd fd, const std::string& path, std::span<std::byte> scratch,
                            const ReadPace* pace = nullptr);

// A blob file opened for judging, kept open until it is quarantined or
// dropped: once closed and unlinked, its inode number could be reused by a
// freshly committed good copy that would then be taken for it.
struct JudgedFile {
  std::string path;
  UniqueFd fd;  // may be left invalid by a holder that keeps the file open otherwise
  struct stat st {};
};

// Opens the file under `digest`'s name; nullopt when there is none.
Result<std::optional<JudgedFile>> OpenJudged(const FsStoreContext& ctx, const Digest& digest);

// Checks the judged file's content against `digest`. Ok means intact;
// kCorruption/kUnavailable (see CondemnsBlob) mean the blob is bad, with the
// reason as message; other errors are failures of the check itself.
Status CheckJudged(const JudgedFile& file, const Digest& digest, std::span<std::byte> scratch,
                   const ReadPace* pace = nullptr);

// Moves the file under `digest`'s name to quarantine/<hex>, but only if it is
// still the judged one (a writer may have put a good copy there meanwhile,
// under the same lock). Returns whether it moved the file.
Result<bool> QuarantineIfUnchanged(FsStoreContext& ctx, const Digest& digest,
                                   const JudgedFile& judged);

}  // namespace cellar::store
