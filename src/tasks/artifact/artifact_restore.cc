// RestoreArtifact: file -> zstd (ZstdFileReader) -> tar (libarchive) -> package directory.
// Rules in docs/task-artifact.md section 4.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <map>
#include <set>
#include <vector>

#include "tasks/artifact/artifact.h"
#include "tasks/artifact/artifact_format.h"
#include "tasks/artifact/fd.h"
#include "tasks/artifact/restore_fs.h"
#include "tasks/artifact/zstd_stream.h"

namespace cellar::artifact {
namespace {

constexpr size_t kChunk = 256 * 1024;
constexpr mode_t kPermBits = 0777;
constexpr mode_t kSpecialBits = 07000;  // setuid, setgid, sticky

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;

struct Source {
  ZstdFileReader* zstd;
  Status status;
};

la_ssize_t ReadCallback(struct archive* a, void* client, const void** buffer) {
  auto* source = static_cast<Source*>(client);
  auto chunk = source->zstd->Read();
  if (!chunk.ok()) {
    source->status = chunk.error();
    archive_set_error(a, EIO, "%s", source->status.message().c_str());
    return -1;
  }
  *buffer = chunk->data();
  return static_cast<la_ssize_t>(chunk->size());
}

// An open artifact: the file, its zstd stream and the tar reader on top.
class ArchiveReader {
 public:
  ArchiveReader() : archive_(archive_read_new(), &archive_read_free) {}

  Status Open(const std::string& file) {
    fd_ = Fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_.valid()) return Status::FromErrno(errno, "artifact: opening " + file);
    zstd_ = std::make_unique<ZstdFileReader>(fd_.get());
    source_.zstd = zstd_.get();
    struct archive* a = archive_.get();
    if (a == nullptr) return Status::ResourceExhausted("libarchive: out of memory");
    if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_open(a, &source_, nullptr, &ReadCallback, nullptr) != ARCHIVE_OK) {
      return Error("opening");
    }
    return Status::Ok();
  }

  // The next entry, or nullptr at the end of a complete, verified artifact.
  Result<struct archive_entry*> Next() {
    struct archive_entry* entry = nullptr;
    int r = archive_read_next_header(archive_.get(), &entry);
    if (r == ARCHIVE_EOF) {
      // The tar ended; the zstd frame (and its checksum) must end too, with nothing after.
      CELLAR_RETURN_IF_ERROR(zstd_->Drain());
      return static_cast<struct archive_entry*>(nullptr);
    }
    // ARCHIVE_RETRY (a damaged header libarchive would skip) is as bad as a fatal error.
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return Error("reading a header");
    return entry;
  }

  // Entry data; 0 at the end of the entry.
  Result<size_t> Data(char* buffer, size_t size) {
    la_ssize_t n = archive_read_data(archive_.get(), buffer, size);
    if (n < 0) return Error("reading entry data");
    return static_cast<size_t>(n);
  }

 private:
  Status Error(const std::string& what) {
    if (!source_.status.ok()) return source_.status;
    const char* msg = archive_error_string(archive_.get());
    return Status::Corruption("artifact: " + what + ": " + (msg ? msg : "bad tar data"));
  }

  // Destroyed in reverse: the tar reader first, while what it reads from is still alive.
  Fd fd_;
  std::unique_ptr<ZstdFileReader> zstd_;
  Source source_;
  ArchivePtr archive_;
};

// Reads the log entry into `result`, keeping its first max_log_bytes bytes.
Status ReadLogEntry(ArchiveReader& reader, struct archive_entry* entry, const RestoreOptions& options,
                    std::vector<char>& buffer, RestoreResult& result) {
  if (archive_entry_filetype(entry) != AE_IFREG) return Status::Corruption("artifact: bad log");
  for (;;) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, reader.Data(buffer.data(), buffer.size()));
    if (n == 0) break;
    size_t room = options.max_log_bytes - std::min(options.max_log_bytes, result.log.size());
    if (n > room) result.log_truncated = true;
    result.log.append(buffer.data(), std::min(n, room));
  }
  return Status::Ok();
}

Status Refuse(std::string_view path, std::string_view why) {
  return Status::PermissionDenied("artifact: refused entry '" + std::string(path) + "': " +
                                  std::string(why));
}

std::string_view ParentOf(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

class Restorer {
 public:
  Restorer(PackageTree tree, const glob::PatternSet& outputs, const RestoreOptions& options)
      : tree_(std::move(tree)), outputs_(outputs), options_(options), buffer_(kChunk),
        compare_(kChunk) {}

  ~Restorer() {
    // Whatever was not committed is discarded.
    for (const Pending& p : pending_) ::unlink(tree_.PathOf(p.temp).c_str());
    Relock();
  }

  Result<RestoreResult> Run(const std::string& archive_file) {
    ArchiveReader reader;
    CELLAR_RETURN_IF_ERROR(reader.Open(archive_file));
    bool seen_metadata = false;
    for (;;) {
      CELLAR_ASSIGN_OR_RETURN(struct archive_entry * entry, reader.Next());
      if (entry == nullptr) break;
      const char* raw_name = archive_entry_pathname(entry);
      std::string_view name = raw_name ? raw_name : "";
      if (!seen_metadata) {
        if (name != kMetadataEntry) return Status::Corruption("artifact: metadata entry missing");
        CELLAR_RETURN_IF_ERROR(ReadMetadata(reader, entry));
        seen_metadata = true;
      } else if (name == kLogEntry) {
        CELLAR_RETURN_IF_ERROR(ReadLogEntry(reader, entry, options_, buffer_, result_));
      } else {
        CELLAR_RETURN_IF_ERROR(RestoreEntry(reader, entry, name));
      }
    }
    if (!seen_metadata) return Status::Corruption("artifact: empty");
    // The whole artifact is read and its checksum verified: now it may become visible.
    CELLAR_RETURN_IF_ERROR(Commit());
    CELLAR_RETURN_IF_ERROR(RemoveStale());
    Relock();
    CELLAR_RETURN_IF_ERROR(ApplyDirectoryModes());
    return std::move(result_);
  }

 private:
  struct Pending {
    std::string temp;   // package-relative path of the temporary file or link
    std::string final;  // package-relative path it is renamed to
    bool replace_dir;   // a stale directory stands at `final`
  };

  Status ReadMetadata(ArchiveReader& reader, struct archive_entry* entry) {
    if (archive_entry_filetype(entry) != AE_IFREG ||
        archive_entry_size(entry) > static_cast<int64_t>(kMaxMetadataBytes)) {
      return Status::Corruption("artifact: bad metadata entry");
    }
    std::string json;
    for (;;) {
      CELLAR_ASSIGN_OR_RETURN(size_t n, reader.Data(buffer_.data(), buffer_.size()));
      if (n == 0) break;
      json.append(buffer_.data(), n);
    }
    CELLAR_ASSIGN_OR_RETURN(result_.metadata, DecodeMetadata(json));
    return Status::Ok();
  }

  // Checks an entry against the rules that do not depend on the disk, and records it.
  Status Admit(struct archive_entry* entry, const std::string& path, bool is_dir) {
    if (archive_entry_hardlink(entry) != nullptr) return Refuse(path, "hard link");
    mode_t type = archive_entry_filetype(entry);
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
      return Refuse(path, "not a file, directory or symlink");
    }
    if ((archive_entry_perm(entry) & kSpecialBits) != 0) {
      return Refuse(path, "setuid, setgid or sticky bit");
    }
    if (!SelectedByOutputs(outputs_, path)) return Refuse(path, "not selected by the outputs");
    // Nothing may lie beneath a file or symlink of this artifact: that is how a link the
    // artifact creates could be written through.
    for (std::string_view dir = ParentOf(path); !dir.empty(); dir = ParentOf(dir)) {
      if (held_nondirs_.count(std::string(dir)) > 0) {
        return Refuse(path, "beneath a file or symlink of the same artifact");
      }
      held_dirs_.insert(std::string(dir));
    }
    if (held_nondirs_.count(path) > 0) return Refuse(path, "duplicate entry");
    if (is_dir) {
      held_dirs_.insert(path);
    } else {
      if (held_dirs_.count(path) > 0) return Refuse(path, "a file where a directory is");
      held_nondirs_.insert(path);
    }
    return Status::Ok();
  }

  Status RestoreEntry(ArchiveReader& reader, struct archive_entry* entry, std::string_view name) {
    CELLAR_ASSIGN_OR_RETURN(std::string path, PackagePathOfEntry(name));
    mode_t type = archive_entry_filetype(entry);
    CELLAR_RETURN_IF_ERROR(Admit(entry, path, type == AE_IFDIR));
    mode_t perm = archive_entry_perm(entry) & kPermBits;
    if (type == AE_IFDIR) {
      CELLAR_ASSIGN_OR_RETURN(Fd dir, tree_.OpenDir(path, /*create=*/true));
      dir_modes_.emplace_back(path, perm);
      ++result_.directories;
      return Status::Ok();
    }
    CELLAR_RETURN_IF_ERROR(OpenParent(ParentOf(path)));
    const std::string base(BaseName(path));
    struct stat st;
    bool exists = ::fstatat(parent_.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT) return Status::FromErrno(errno, "artifact: " + path);
    bool replace_dir = exists && S_ISDIR(st.st_mode);
    if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      if (target == nullptr || *target == '\0') return Refuse(path, "symlink without target");
      ++result_.symlinks;
      if (exists && S_ISLNK(st.st_mode) && ReadLinkAt(parent_.get(), base) == target) {
        return Status::Ok();
      }
      CELLAR_ASSIGN_OR_RETURN(std::string temp, tree_.CreateTempSymlink(parent_.get(), target));
      pending_.push_back({Join(parent_path_, temp), path, replace_dir});
      return Status::Ok();
    }
    int64_t size = archive_entry_size(entry);
    if (exists && S_ISREG(st.st_mode) && st.st_size == size) {
      return CompareOrRewrite(reader, path, base, perm, st);
    }
    Fd out;
    CELLAR_ASSIGN_OR_RETURN(std::string temp, tree_.CreateTempFile(parent_.get(), &out));
    pending_.push_back({Join(parent_path_, temp), path, replace_dir});
    CELLAR_RETURN_IF_ERROR(CopyData(reader, out.get(), path));
    return Finish(out.get(), perm, path);
  }

  // The file exists with the right size: compare it with the entry as the entry streams by.
  // Equal content keeps the file (and its timestamps); the first difference switches to
  // writing a temporary file, starting with the prefix already known to be equal.
  Status CompareOrRewrite(ArchiveReader& reader, const std::string& path, const std::string& base,
                          mode_t perm, const struct stat& st) {
    Fd existing(::openat(parent_.get(), base.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!existing.valid()) return Status::FromErrno(errno, "artifact: opening " + path);
    uint64_t offset = 0;
    for (;;) {
      CELLAR_ASSIGN_OR_RETURN(size_t n, reader.Data(buffer_.data(), buffer_.size()));
      if (n == 0) break;
      CELLAR_ASSIGN_OR_RETURN(size_t got, ReadFull(existing.get(), compare_.data(), n, path));
      if (got != n || std::memcmp(buffer_.data(), compare_.data(), n) != 0) {
        Fd out;
        CELLAR_ASSIGN_OR_RETURN(std::string temp, tree_.CreateTempFile(parent_.get(), &out));
        pending_.push_back({Join(parent_path_, temp), path, false});
        CELLAR_RETURN_IF_ERROR(CopyPrefix(existing.get(), out.get(), offset, path));
        CELLAR_RETURN_IF_ERROR(WriteFull(out.get(), buffer_.data(), n, path));
        CELLAR_RETURN_IF_ERROR(CopyData(reader, out.get(), path));
        return Finish(out.get(), perm, path);
      }
      offset += n;
    }
    if ((st.st_mode & 07777) != perm && ::fchmod(existing.get(), perm) != 0) {
      return Status::FromErrno(errno, "artifact: chmod " + path);
    }
    ++result_.files_unchanged;
    return Status::Ok();
  }

  Status CopyData(ArchiveReader& reader, int out, const std::string& path) {
    for (;;) {
      CELLAR_ASSIGN_OR_RETURN(size_t n, reader.Data(buffer_.data(), buffer_.size()));
      if (n == 0) return Status::Ok();
      CELLAR_RETURN_IF_ERROR(WriteFull(out, buffer_.data(), n, path));
    }
  }

  Status CopyPrefix(int in, int out, uint64_t size, const std::string& path) {
    if (::lseek(in, 0, SEEK_SET) != 0) return Status::FromErrno(errno, "artifact: seek " + path);
    while (size > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(size, compare_.size()));
      CELLAR_ASSIGN_OR_RETURN(size_t got, ReadFull(in, compare_.data(), want, path));
      if (got != want) return Status::Aborted("artifact: " + path + " changed during restore");
      CELLAR_RETURN_IF_ERROR(WriteFull(out, compare_.data(), got, path));
      size -= got;
    }
    return Status::Ok();
  }

  Status Finish(int fd, mode_t perm, const std::string& path) {
    // fchmod, not the open mode: the umask must not change what the artifact says.
    if (::fchmod(fd, perm) != 0) return Status::FromErrno(errno, "artifact: chmod " + path);
    ++result_.files_written;
    return Status::Ok();
  }

  // Keeps the parent directory of the previous entry open: sorted entries share it.
  Status OpenParent(std::string_view parent) {
    if (parent_.valid() && parent == parent_path_) return Status::Ok();
    parent_path_.clear();
    CELLAR_ASSIGN_OR_RETURN(parent_, tree_.OpenDir(parent, /*create=*/true));
    CELLAR_RETURN_IF_ERROR(Unlock(parent_.get(), std::string(parent)));
    parent_path_ = std::string(parent);
    return Status::Ok();
  }

  Status Commit() {
    for (const Pending& p : pending_) {
      if (p.replace_dir) {
        Fd dir;
        CELLAR_ASSIGN_OR_RETURN(dir, tree_.OpenDir(ParentOf(p.final), /*create=*/false));
        CELLAR_RETURN_IF_ERROR(RemoveTree(dir.get(), std::string(BaseName(p.final))));
      }
      if (::rename(tree_.PathOf(p.temp).c_str(), tree_.PathOf(p.final).c_str()) != 0) {
        return Status::FromErrno(errno, "artifact: renaming into " + tree_.PathOf(p.final));
      }
    }
    pending_.clear();
    return Status::Ok();
  }

  // Read-only output directories (Go's module cache makes them) are made writable for the
  // owner while this restore changes them, and get their mode back at the end.
  Status Unlock(int dir, const std::string& path) {
    if (unlocked_.count(path) > 0) return Status::Ok();
    struct stat st;
    if (::fstat(dir, &st) != 0) return Status::FromErrno(errno, "artifact: stat " + path);
    if ((st.st_mode & S_IRWXU) == S_IRWXU) return Status::Ok();
    if (::fchmod(dir, (st.st_mode & 07777) | S_IRWXU) != 0) {
      return Status::FromErrno(errno, "artifact: chmod " + path);
    }
    unlocked_[path] = st.st_mode & 07777;
    return Status::Ok();
  }

  void Relock() {
    for (const auto& [path, mode] : unlocked_) ::chmod(tree_.PathOf(path).c_str(), mode);
    unlocked_.clear();
  }

  // Directory modes last: a directory without write permission could not be filled.
  Status ApplyDirectoryModes() {
    for (const auto& [path, perm] : dir_modes_) {
      CELLAR_ASSIGN_OR_RETURN(Fd dir, tree_.OpenDir(path, /*create=*/false));
      struct stat st;
      if (::fstat(dir.get(), &st) == 0 && (st.st_mode & 07777) == perm) continue;
      if (::fchmod(dir.get(), perm) != 0) return Status::FromErrno(errno, "artifact: chmod " + path);
    }
    return Status::Ok();
  }

  // Outputs on disk the artifact does not hold are stale: remove them, children before
  // parents (reverse bytewise order), and the directories that leaves empty.
  Status RemoveStale() {
    glob::ExpandOptions expand;
    expand.directories = true;
    CELLAR_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                            glob::Expand(tree_.path(), outputs_, expand));
    for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
      const std::string full = tree_.PathOf(*it);
      struct stat st;
      if (::lstat(full.c_str(), &st) != 0) continue;
      bool is_dir = S_ISDIR(st.st_mode);
      if (is_dir ? held_dirs_.count(*it) > 0 : held_nondirs_.count(*it) > 0) continue;
      int flags = is_dir ? AT_REMOVEDIR : 0;
      int rc = ::unlinkat(AT_FDCWD, full.c_str(), flags);
      if (rc != 0 && errno == EACCES) {
        const std::string parent(ParentOf(*it));
        CELLAR_ASSIGN_OR_RETURN(Fd dir, tree_.OpenDir(parent, /*create=*/false));
        CELLAR_RETURN_IF_ERROR(Unlock(dir.get(), parent));
        rc = ::unlinkat(AT_FDCWD, full.c_str(), flags);
      }
      if (rc != 0) {
        // A directory that is not empty still holds something that is not an output.
        if (errno == ENOENT || (is_dir && (errno == ENOTEMPTY || errno == EEXIST))) continue;
        return Status::FromErrno(errno, "artifact: removing stale " + full);
      }
      ++result_.stale_removed;
    }
    return Status::Ok();
  }

  static std::string ReadLinkAt(int dir, const std::string& name) {
    std::vector<char> buf(PATH_MAX + 1);
    ssize_t n = ::readlinkat(dir, name.c_str(), buf.data(), buf.size());
    if (n < 0 || static_cast<size_t>(n) >= buf.size()) return std::string();
    return std::string(buf.data(), static_cast<size_t>(n));
  }

  static std::string Join(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
  }

  PackageTree tree_;
  const glob::PatternSet& outputs_;
  const RestoreOptions& options_;
  std::vector<char> buffer_;
  std::vector<char> compare_;
  RestoreResult result_;
  std::set<std::string> held_dirs_;     // directory entries and every parent of an entry
  std::set<std::string> held_nondirs_;  // file and symlink entries
  std::vector<Pending> pending_;        // written, not yet renamed into place
  std::vector<std::pair<std::string, mode_t>> dir_modes_;
  std::map<std::string, mode_t> unlocked_;  // directory -> its mode before Unlock()
  Fd parent_;
  std::string parent_path_;
};

}  // namespace

Result<RestoreResult> RestoreArtifact(const std::string& archive_file,
                                      const std::string& package_dir,
                                      const glob::PatternSet& outputs,
                                      const RestoreOptions& options) {
  CELLAR_ASSIGN_OR_RETURN(PackageTree tree, PackageTree::Open(package_dir, outputs));
  Restorer restorer(std::move(tree), outputs, options);
  return restorer.Run(archive_file);
}

namespace {

// The metadata entry, which must come first.
Result<ArtifactMetadata> ReadMetadataEntry(ArchiveReader& reader) {
  CELLAR_ASSIGN_OR_RETURN(struct archive_entry * entry, reader.Next());
  if (entry == nullptr || archive_entry_pathname(entry) == nullptr ||
      archive_entry_pathname(entry) != kMetadataEntry ||
      archive_entry_size(entry) > static_cast<int64_t>(kMaxMetadataBytes)) {
    return Status::Corruption("artifact: metadata entry missing");
  }
  std::string json;
  char buffer[4096];
  for (;;) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, reader.Data(buffer, sizeof buffer));
    if (n == 0) break;
    json.append(buffer, n);
  }
  return DecodeMetadata(json);
}

}  // namespace

Result<ArtifactMetadata> ReadArtifactMetadata(const std::string& archive_file) {
  ArchiveReader reader;
  CELLAR_RETURN_IF_ERROR(reader.Open(archive_file));
  return ReadMetadataEntry(reader);
}

Result<RestoreResult> ReadArtifactHead(const std::string& archive_file, const RestoreOptions& options) {
  ArchiveReader reader;
  CELLAR_RETURN_IF_ERROR(reader.Open(archive_file));
  RestoreResult result;
  CELLAR_ASSIGN_OR_RETURN(result.metadata, ReadMetadataEntry(reader));
  CELLAR_ASSIGN_OR_RETURN(struct archive_entry * entry, reader.Next());
  const char* name = entry != nullptr ? archive_entry_pathname(entry) : nullptr;
  if (name == nullptr || name != kLogEntry) return result;  // no log stored
  std::vector<char> buffer(kChunk);
  CELLAR_RETURN_IF_ERROR(ReadLogEntry(reader, entry, options, buffer, result));
  return result;
}

}  // namespace cellar::artifact
