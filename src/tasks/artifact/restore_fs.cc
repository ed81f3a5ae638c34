#include "tasks/artifact/restore_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>
#include <vector>

#include "tasks/artifact/artifact_format.h"

namespace cellar::artifact {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

Result<std::string> RealPath(const std::string& path) {
  std::unique_ptr<char, void (*)(void*)> real(::realpath(path.c_str(), nullptr), &std::free);
  if (!real) return Status::FromErrno(errno, "artifact: resolving " + path);
  return std::string(real.get());
}

std::string TempName(uint64_t counter) {
  return ".cellar-restore-" + std::to_string(::getpid()) + "-" + std::to_string(counter);
}

}  // namespace

Result<PackageTree> PackageTree::Open(const std::string& package_dir,
                                      const glob::PatternSet& outputs) {
  Fd root(::open(package_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return Status::FromErrno(errno, "artifact: opening " + package_dir);
  CELLAR_ASSIGN_OR_RETURN(std::string real, RealPath(package_dir));
  return PackageTree(package_dir, std::move(real), std::move(root), outputs);
}

std::string PackageTree::PathOf(std::string_view relative) const {
  return relative.empty() ? path_ : path_ + "/" + std::string(relative);
}

Result<Fd> PackageTree::OpenDir(std::string_view relative, bool create) {
  Fd current(::dup(root_.get()));
  if (!current.valid()) return Status::FromErrno(errno, "artifact: dup");
  std::string walked;
  size_t start = 0;
  while (start < relative.size()) {
    size_t end = relative.find('/', start);
    if (end == std::string_view::npos) end = relative.size();
    std::string name(relative.substr(start, end - start));
    if (!walked.empty()) walked += '/';
    walked += name;
    CELLAR_ASSIGN_OR_RETURN(current, StepInto(current.get(), name, walked, create));
    start = end + 1;
  }
  return current;
}

Result<Fd> PackageTree::StepInto(int parent, const std::string& name, const std::string& walked,
                                 bool create) {
  Fd next(::openat(parent, name.c_str(), kDirFlags));
  if (next.valid()) return next;
  int err = errno;
  if (err == ENOENT) {
    if (!create) return Status::NotFound("artifact: " + PathOf(walked) + " is missing");
    if (::mkdirat(parent, name.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "artifact: creating " + PathOf(walked));
    }
    next = Fd(::openat(parent, name.c_str(), kDirFlags));
    if (!next.valid()) return Status::FromErrno(errno, "artifact: opening " + PathOf(walked));
    return next;
  }
  if (err != ELOOP && err != ENOTDIR) {
    return Status::FromErrno(err, "artifact: opening " + PathOf(walked));
  }
  struct stat st;
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return Status::FromErrno(errno, "artifact: " + PathOf(walked));
  }
  if (create && SelectedByOutputs(*outputs_, walked)) {
    // A stale output (file or link) where the artifact holds a directory: replace it. Only
    // the link itself is removed, never what it points at.
    if (::unlinkat(parent, name.c_str(), 0) != 0 || ::mkdirat(parent, name.c_str(), 0755) != 0) {
      return Status::FromErrno(errno, "artifact: replacing " + PathOf(walked));
    }
    next = Fd(::openat(parent, name.c_str(), kDirFlags));
    if (!next.valid()) return Status::FromErrno(errno, "artifact: opening " + PathOf(walked));
    return next;
  }
  if (!S_ISLNK(st.st_mode)) {
    return Status::PermissionDenied("artifact: " + PathOf(walked) + " is not a directory");
  }
  // A symlink the package itself has (not an output): writing through it is allowed only
  // when it stays inside the package.
  CELLAR_ASSIGN_OR_RETURN(std::string target, RealPath(PathOf(walked)));
  if (target != real_ && !target.starts_with(real_ + "/")) {
    return Status::PermissionDenied("artifact: refused to write through symlink " +
                                    PathOf(walked) + " (leads outside the package)");
  }
  next = Fd(::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!next.valid()) return Status::FromErrno(errno, "artifact: opening " + target);
  return next;
}

Result<std::string> PackageTree::CreateTempFile(int dir, Fd* out) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = TempName(temp_counter_++);
    Fd fd(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.valid()) {
      *out = std::move(fd);
      return name;
    }
    if (errno != EEXIST) return Status::FromErrno(errno, "artifact: creating a temporary file");
  }
  return Status::AlreadyExists("artifact: no free temporary name");
}

Result<std::string> PackageTree::CreateTempSymlink(int dir, const std::string& target) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = TempName(temp_counter_++);
    if (::symlinkat(target.c_str(), dir, name.c_str()) == 0) return name;
    if (errno != EEXIST) return Status::FromErrno(errno, "artifact: creating a symlink");
  }
  return Status::AlreadyExists("artifact: no free temporary name");
}

Status RemoveTree(int dir, const std::string& name) {
  struct stat st;
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? Status::Ok() : Status::FromErrno(errno, "artifact: " + name);
  }
  if (S_ISDIR(st.st_mode)) {
    Fd sub(::openat(dir, name.c_str(), kDirFlags));
    if (!sub.valid()) return Status::FromErrno(errno, "artifact: opening " + name);
    std::vector<std::string> children;
    {
      DIR* d = ::fdopendir(::dup(sub.get()));
      if (d == nullptr) return Status::FromErrno(errno, "artifact: listing " + name);
      while (struct dirent* e = ::readdir(d)) {
        std::string child = e->d_name;
        if (child != "." && child != "..") children.push_back(std::move(child));
      }
      ::closedir(d);
    }
    for (const std::string& child : children) CELLAR_RETURN_IF_ERROR(RemoveTree(sub.get(), child));
    if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "artifact: removing " + name);
    }
    return Status::Ok();
  }
  if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "artifact: removing " + name);
  }
  return Status::Ok();
}

}  // namespace cellar::artifact
