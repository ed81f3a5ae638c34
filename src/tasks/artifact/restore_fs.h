// File-system steps of a restore that must never follow a symlink out of the package:
// opening (and creating) the directories above an entry, temporary files beside their final
// names, and removing what an artifact replaces. Internal to src/tasks/artifact.
// Thread-safety: one PackageTree per restore.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/status.h"
#include "glob/glob.h"
#include "tasks/artifact/fd.h"

namespace cellar::artifact {

class PackageTree {
 public:
  // Opens the package directory. `outputs` must outlive this object.
  static Result<PackageTree> Open(const std::string& package_dir, const glob::PatternSet& outputs);

  // Opens the directory at `relative` ("" is the package), component by component without
  // following symlinks, creating missing directories when `create` is set. A symlink or
  // file in the way that is itself an output is stale and is replaced by a directory; a
  // symlink that is not an output is followed only when it resolves inside the package;
  // anything else is refused (kPermissionDenied).
  Result<Fd> OpenDir(std::string_view relative, bool create);

  // Creates an empty temporary file (mode 0600) or symlink inside `dir`; returns its name.
  Result<std::string> CreateTempFile(int dir, Fd* out);
  Result<std::string> CreateTempSymlink(int dir, const std::string& target);

  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view relative) const;

 private:
  PackageTree(std::string path, std::string real, Fd root, const glob::PatternSet& outputs)
      : path_(std::move(path)), real_(std::move(real)), root_(std::move(root)),
        outputs_(&outputs) {}

  Result<Fd> StepInto(int parent, const std::string& name, const std::string& walked,
                      bool create);

  std::string path_;
  std::string real_;  // realpath of path_
  Fd root_;
  const glob::PatternSet* outputs_;
  uint64_t temp_counter_ = 0;
};

// Removes `name` in `dir` and, if it is a directory, everything beneath it; never follows
// symlinks. A missing entry is not an error.
Status RemoveTree(int dir, const std::string& name);

}  // namespace cellar::artifact
