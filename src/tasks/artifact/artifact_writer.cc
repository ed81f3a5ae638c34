// WriteArtifact: outputs + log + metadata -> tar (libarchive) -> zstd (ZstdFileWriter) -> file.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <vector>

#include "base/digest.h"
#include "tasks/artifact/artifact.h"
#include "tasks/artifact/artifact_format.h"
#include "tasks/artifact/fd.h"
#include "tasks/artifact/zstd_stream.h"

namespace cellar::artifact {
namespace {

constexpr size_t kCopyChunk = 256 * 1024;
// Only the permission bits travel; setuid, setgid and sticky never do.
constexpr mode_t kPermBits = 0777;

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;
using EntryPtr = std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)>;

// libarchive hands the tar bytes to this callback; they go through zstd to the file.
struct Sink {
  ZstdFileWriter* zstd;
  Status status;
};

la_ssize_t WriteCallback(struct archive* a, void* client, const void* buffer, size_t length) {
  auto* sink = static_cast<Sink*>(client);
  sink->status = sink->zstd->Write(buffer, length);
  if (!sink->status.ok()) {
    archive_set_error(a, EIO, "%s", sink->status.message().c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(length);
}

class TarWriter {
 public:
  explicit TarWriter(ZstdFileWriter& zstd)
      : sink_{&zstd, Status::Ok()}, archive_(archive_write_new(), &archive_write_free) {}

  Status Open() {
    struct archive* a = archive_.get();
    if (a == nullptr) return Status::ResourceExhausted("libarchive: out of memory");
    // pax-restricted is plain ustar unless a name needs a pax header; names are stored as
    // raw bytes (no charset conversion that could depend on the locale).
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open2(a, &sink_, nullptr, &WriteCallback, nullptr, nullptr) != ARCHIVE_OK) {
      return Error("opening the tar writer");
    }
    return Status::Ok();
  }

  // Adds a header; the caller then writes exactly `size` bytes with Data() for a regular file.
  Status Header(const std::string& name, mode_t type, mode_t perm, int64_t size,
                const std::string* symlink_target) {
    EntryPtr entry(archive_entry_new(), &archive_entry_free);
    if (!entry) return Status::ResourceExhausted("libarchive: out of memory");
    struct archive_entry* e = entry.get();
    archive_entry_copy_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm & kPermBits);
    archive_entry_set_size(e, size);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, 0, 0);
    if (symlink_target != nullptr) archive_entry_copy_symlink(e, symlink_target->c_str());
    int r = archive_write_header(archive_.get(), e);
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return Error("writing " + name);
    return Status::Ok();
  }

  Status Data(const void* data, size_t size) {
    la_ssize_t n = archive_write_data(archive_.get(), data, size);
    if (n < 0 || static_cast<size_t>(n) != size) return Error("writing entry data");
    return Status::Ok();
  }

  Status Close() {
    if (archive_write_close(archive_.get()) != ARCHIVE_OK) return Error("closing the tar");
    return Status::Ok();
  }

 private:
  Status Error(const std::string& what) {
    if (!sink_.status.ok()) return sink_.status.WithContext("artifact");
    const char* msg = archive_error_string(archive_.get());
    return Status::Internal("artifact: " + what + ": " + (msg ? msg : "libarchive error"));
  }

  // Declared first so it outlives the archive, whose teardown may still flush into it.
  Sink sink_;
  ArchivePtr archive_;
};

// Streams the file at `fd` (`size` bytes, as the header said) into the tar. A file that
// shrinks meanwhile cannot be stored (the header is already written): that is an error.
Status CopyFileData(TarWriter& tar, int fd, uint64_t size, std::vector<char>& buffer,
                    const std::string& what) {
  uint64_t left = size;
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
    CELLAR_ASSIGN_OR_RETURN(size_t n, ReadFull(fd, buffer.data(), want, what));
    if (n < want) return Status::Aborted("artifact: " + what + " shrank while being archived");
    CELLAR_RETURN_IF_ERROR(tar.Data(buffer.data(), n));
    left -= n;
  }
  return Status::Ok();
}

Status AddLog(TarWriter& tar, const WriteOptions& options, std::vector<char>& buffer,
              uint64_t* log_size) {
  const std::string name(kLogEntry);
  if (options.log_file.empty()) {
    *log_size = options.log_bytes.size();
    CELLAR_RETURN_IF_ERROR(tar.Header(name, AE_IFREG, 0644,
                                      static_cast<int64_t>(options.log_bytes.size()), nullptr));
    return tar.Data(options.log_bytes.data(), options.log_bytes.size());
  }
  Fd fd(::open(options.log_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "artifact: opening log " + options.log_file);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "artifact: log");
  *log_size = static_cast<uint64_t>(st.st_size);
  CELLAR_RETURN_IF_ERROR(tar.Header(name, AE_IFREG, 0644, st.st_size, nullptr));
  return CopyFileData(tar, fd.get(), *log_size, buffer, "log " + options.log_file);
}

Status AddOutput(TarWriter& tar, const std::string& package_dir, const std::string& relative,
                 std::vector<char>& buffer, ArtifactInfo& info) {
  const std::string path = package_dir + "/" + relative;
  const std::string name = std::string(kFilesPrefix) + relative;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "artifact: " + path);
  if (S_ISDIR(st.st_mode)) {
    ++info.directories;
    return tar.Header(name, AE_IFDIR, st.st_mode, 0, nullptr);
  }
  if (S_ISLNK(st.st_mode)) {
    // The link itself, target kept byte for byte; never what it points at.
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    if (n < 0) return Status::FromErrno(errno, "artifact: readlink " + path);
    if (static_cast<size_t>(n) >= target.size()) {
      return Status::Aborted("artifact: symlink " + path + " changed while being archived");
    }
    target.resize(static_cast<size_t>(n));
    ++info.symlinks;
    return tar.Header(name, AE_IFLNK, 0777, 0, &target);
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("artifact: output " + path +
                                   " is not a file, symlink or directory");
  }
  // O_NOFOLLOW: if the file was swapped for a symlink since lstat, fail rather than follow.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "artifact: opening " + path);
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "artifact: " + path);
  ++info.files;
  CELLAR_RETURN_IF_ERROR(tar.Header(name, AE_IFREG, st.st_mode, st.st_size, nullptr));
  return CopyFileData(tar, fd.get(), static_cast<uint64_t>(st.st_size), buffer, path);
}

Status SyncParentDir(const std::string& file) {
  size_t slash = file.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : file.substr(0, slash));
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) {
    return Status::FromErrno(errno, "artifact: syncing " + dir);
  }
  return Status::Ok();
}

std::string TempNameBeside(const std::string& dest) {
  static std::atomic<uint64_t> counter{0};
  return dest + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Everything between creating the temporary file and fsyncing it.
Result<ArtifactInfo> WriteTo(int fd, const std::string& package_dir,
                             const glob::PatternSet& outputs, const WriteOptions& options) {
  glob::ExpandOptions expand;
  expand.files = true;
  expand.directories = true;  // keeps empty directories and directory modes
  expand.descend_matched_dirs = true;
  CELLAR_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                          glob::Expand(package_dir, outputs, expand));
  // Expand sorts bytewise; the archive order is that order, so it does not depend on the
  // order in which the files were created or listed.

  ZstdFileWriter zstd(fd, options.zstd_level);
  TarWriter tar(zstd);
  CELLAR_RETURN_IF_ERROR(tar.Open());
  std::vector<char> buffer(kCopyChunk);
  ArtifactInfo info;

  // The metadata comes first (a reader that wants only it stops after one entry) and names
  // the log's size, so the log is measured before it is copied.
  ArtifactMetadata metadata;
  metadata.format_version = kFormatVersion;
  metadata.task_id = options.task_id;
  metadata.duration_ms = options.duration_ms;
  metadata.log_bytes = options.log_bytes.size();
  if (!options.log_file.empty()) {
    struct stat st;
    if (::stat(options.log_file.c_str(), &st) != 0) {
      return Status::FromErrno(errno, "artifact: log " + options.log_file);
    }
    metadata.log_bytes = static_cast<uint64_t>(st.st_size);
  }
  const std::string meta_json = EncodeMetadata(metadata);
  CELLAR_RETURN_IF_ERROR(tar.Header(std::string(kMetadataEntry), AE_IFREG, 0644,
                                    static_cast<int64_t>(meta_json.size()), nullptr));
  CELLAR_RETURN_IF_ERROR(tar.Data(meta_json.data(), meta_json.size()));
  uint64_t log_size = 0;
  CELLAR_RETURN_IF_ERROR(AddLog(tar, options, buffer, &log_size));
  if (log_size != metadata.log_bytes) {
    return Status::Aborted("artifact: log " + options.log_file + " changed while archived");
  }
  for (const std::string& relative : paths) {
    CELLAR_RETURN_IF_ERROR(AddOutput(tar, package_dir, relative, buffer, info));
  }
  CELLAR_RETURN_IF_ERROR(tar.Close());
  CELLAR_RETURN_IF_ERROR(zstd.Finish());
  if (::fsync(fd) != 0) return Status::FromErrno(errno, "artifact: fsync");
  info.size_bytes = zstd.compressed_bytes();
  info.sha256 = zstd.sha256();
  return info;
}

}  // namespace

std::string ArtifactInfo::Sha256Hex() const { return ToHex(sha256); }

Result<ArtifactInfo> WriteArtifact(const std::string& package_dir, const glob::PatternSet& outputs,
                                   const WriteOptions& options, const std::string& dest_file) {
  const std::string temp = TempNameBeside(dest_file);
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return Status::FromErrno(errno, "artifact: creating " + temp);
  Result<ArtifactInfo> info = WriteTo(fd.get(), package_dir, outputs, options);
  fd.Reset();
  if (info.ok() && ::rename(temp.c_str(), dest_file.c_str()) != 0) {
    info = Status::FromErrno(errno, "artifact: renaming to " + dest_file);
  }
  if (!info.ok()) {
    ::unlink(temp.c_str());
    return info;
  }
  CELLAR_RETURN_IF_ERROR(SyncParentDir(dest_file));
  return info;
}

}  // namespace cellar::artifact
