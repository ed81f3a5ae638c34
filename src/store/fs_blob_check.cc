#include "store/fs_blob_check.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "hash/blake3.h"
#include "store/fs_blob_reader.h"

namespace cellar::store {

bool CondemnsBlob(const Status& status) {
  return status.code() == Code::kCorruption || status.code() == Code::kUnavailable;
}

Result<Digest> HashBlobFile(UniqueFd fd, const std::string& path, std::span<std::byte> scratch,
                            const ReadPace* pace) {
  CELLAR_ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, OpenBlobReader(std::move(fd), path));
  hash::Blake3Hasher hasher;
  for (;;) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, reader->Read(scratch));
    if (n == 0) break;
    hasher.Update(scratch.data(), n);
    if (pace != nullptr && *pace && !(*pace)(n)) {
      return Status::Aborted(path + ": check abandoned");
    }
  }
  return Digest{hasher.Finalize()};
}

Result<std::optional<JudgedFile>> OpenJudged(const FsStoreContext& ctx, const Digest& digest) {
  JudgedFile file;
  file.path = ctx.BlobPath(digest);
  file.fd = UniqueFd(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.fd.valid()) {
    if (errno == ENOENT) return std::optional<JudgedFile>();
    return Status::FromErrno(errno, "open " + file.path);
  }
  if (::fstat(file.fd.get(), &file.st) != 0) return Status::FromErrno(errno, "fstat " + file.path);
  return std::optional<JudgedFile>(std::move(file));
}

Status CheckJudged(const JudgedFile& file, const Digest& digest, std::span<std::byte> scratch,
                   const ReadPace* pace) {
  // The reader takes its own descriptor; reads are positional, so sharing
  // the open file is fine.
  UniqueFd fd(::dup(file.fd.get()));
  if (!fd.valid()) return Status::FromErrno(errno, "dup " + file.path);
  CELLAR_ASSIGN_OR_RETURN(Digest actual, HashBlobFile(std::move(fd), file.path, scratch, pace));
  if (actual != digest) {
    return Status::Corruption(file.path + ": content hashes to " + actual.Hex());
  }
  return Status::Ok();
}

Result<bool> QuarantineIfUnchanged(FsStoreContext& ctx, const Digest& digest,
                                   const JudgedFile& judged) {
  const std::string path = ctx.BlobPath(digest);
  std::lock_guard<std::mutex> lock(ctx.rename_mu);
  struct stat now;
  if (::stat(path.c_str(), &now) != 0 || now.st_dev != judged.st.st_dev ||
      now.st_ino != judged.st.st_ino) {
    return false;  // gone, or replaced by a writer meanwhile
  }
  const std::string target = ctx.quarantine_dir + '/' + digest.Hex();
  if (::rename(path.c_str(), target.c_str()) != 0) {
    if (errno == ENOENT) return false;  // removed meanwhile, fine
    return Status::FromErrno(errno, "quarantine " + path);
  }
  ctx.quarantined.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace cellar::store
