// FsBlobStore's scrubber: re-hashes blob files and quarantines bad ones.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "hash/blake3.h"
#include "store/fs_blob_reader.h"
#include "store/fs_blob_store.h"
#include "store/fs_store_context.h"

namespace cellar::store {
namespace {

// Bad blob versus failed scrub: damaged contents and I/O errors reading the
// file (EIO maps to kUnavailable) condemn the blob; anything else (EMFILE,
// EACCES, ...) says nothing about it and stops the scrub.
bool CondemnsBlob(const Status& status) {
  return status.code() == Code::kCorruption || status.code() == Code::kUnavailable;
}

// Hashes the logical content of the open blob file `fd`.
Result<Digest> HashBlobFile(UniqueFd fd, const std::string& path, std::vector<std::byte>& scratch) {
  CELLAR_ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, OpenBlobReader(std::move(fd), path));
  hash::Blake3Hasher hasher;
  for (;;) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, reader->Read(scratch));
    if (n == 0) break;
    hasher.Update(scratch.data(), n);
  }
  return Digest{hasher.Finalize()};
}

}  // namespace

Status FsBlobStore::VerifyFile(const Digest& digest, bool quarantine_bad,
                               std::vector<std::byte>& scratch, VerifyReport& report) {
  const std::string path = ctx_->BlobPath(digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::Ok();  // absent, or removed since listed
    return Status::FromErrno(errno, "open " + path);
  }
  struct stat judged;
  if (::fstat(fd.get(), &judged) != 0) return Status::FromErrno(errno, "fstat " + path);

  // Held open until the inode comparison below: once closed and unlinked, its
  // inode number could be reused by a freshly committed good copy.
  UniqueFd judged_fd(::dup(fd.get()));
  std::string reason;
  Result<Digest> actual = HashBlobFile(std::move(fd), path, scratch);
  if (!actual.ok()) {
    if (!CondemnsBlob(actual.error())) return actual.error();
    reason = actual.error().message();
  } else if (*actual != digest) {
    reason = path + ": content hashes to " + actual->Hex();
  } else {
    ++report.ok;
    return Status::Ok();
  }

  BadBlob bad{digest, std::move(reason), false};
  if (quarantine_bad) {
    // Only move the file we judged: a writer may have replaced a damaged file
    // with a good copy meanwhile, and it does so under the same lock.
    std::lock_guard<std::mutex> lock(ctx_->rename_mu);
    struct stat now;
    if (::stat(path.c_str(), &now) == 0 && now.st_dev == judged.st_dev &&
        now.st_ino == judged.st_ino) {
      const std::string target = ctx_->quarantine_dir + '/' + digest.Hex();
      if (::rename(path.c_str(), target.c_str()) == 0) {
        bad.quarantined = true;
      } else if (errno != ENOENT) {  // ENOENT: removed meanwhile, fine
        return Status::FromErrno(errno, "quarantine " + path);
      }
    }
  }
  ++report.bad;
  report.bad_blobs.push_back(std::move(bad));
  return Status::Ok();
}

}  // namespace cellar::store
