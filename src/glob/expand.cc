#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "glob/glob.h"

namespace cellar::glob {
namespace {

enum class EntryType { kDirectory, kFile, kOther, kGone };

class Walker {
 public:
  Walker(const std::string& root, const PatternSet& set, const ExpandOptions& options)
      : root_(root), set_(set), options_(options) {}

  // Lists root/relative_dir ("" for root) into out_, recursing into
  // directories that can still hold a selected path.
  Status Walk(const std::string& relative_dir) {
    std::string dir_path = relative_dir.empty() ? root_ : root_ + "/" + relative_dir;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(dir_path.c_str()), &::closedir);
    if (!dir) {
      int err = errno;
      // A directory removed while we walk is not an error (the root is).
      if (err == ENOENT && !relative_dir.empty()) return Status::Ok();
      return Status::FromErrno(err, "glob: cannot list " + dir_path);
    }
    std::vector<std::pair<std::string, EntryType>> children;
    errno = 0;
    while (struct dirent* entry = ::readdir(dir.get())) {
      std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      std::string relative = relative_dir.empty() ? name : relative_dir + "/" + name;
      children.emplace_back(relative, TypeOf(*entry, relative));
      errno = 0;
    }
    if (errno != 0) return Status::FromErrno(errno, "glob: cannot list " + dir_path);
    dir.reset();
    for (const auto& [relative, type] : children) {
      if (type == EntryType::kDirectory) {
        CELLAR_RETURN_IF_ERROR(VisitDirectory(relative));
      } else if (type == EntryType::kFile && options_.files && Selected(relative)) {
        out_.push_back(relative);
      }
    }
    return Status::Ok();
  }

  std::vector<std::string> TakeSorted() {
    std::sort(out_.begin(), out_.end());
    return std::move(out_);
  }

 private:
  Status VisitDirectory(const std::string& relative) {
    std::string_view name = relative;
    if (size_t slash = name.rfind('/'); slash != std::string_view::npos) {
      name.remove_prefix(slash + 1);
    }
    const auto& skip = options_.skip_dir_names;
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) return Status::Ok();
    if (options_.directories && Selected(relative)) out_.push_back(relative);
    bool enter = options_.descend_matched_dirs ? set_.CouldMatchUnderPathOrParent(relative)
                                               : set_.CouldMatchUnder(relative);
    return enter ? Walk(relative) : Status::Ok();
  }

  bool Selected(const std::string& relative) const {
    return options_.descend_matched_dirs ? set_.MatchesPathOrParent(relative)
                                         : set_.Matches(relative);
  }

  // d_type when the file system reports it, lstat otherwise (never follows).
  EntryType TypeOf(const struct dirent& entry, const std::string& relative) const {
    switch (entry.d_type) {
      case DT_DIR:
        return EntryType::kDirectory;
      case DT_REG:
      case DT_LNK:
        return EntryType::kFile;
      case DT_UNKNOWN:
        break;
      default:
        return EntryType::kOther;
    }
    struct stat st;
    if (::lstat((root_ + "/" + relative).c_str(), &st) != 0) return EntryType::kGone;
    if (S_ISDIR(st.st_mode)) return EntryType::kDirectory;
    if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) return EntryType::kFile;
    return EntryType::kOther;
  }

  const std::string& root_;
  const PatternSet& set_;
  const ExpandOptions& options_;
  std::vector<std::string> out_;
};

}  // namespace

Result<std::vector<std::string>> Expand(const std::string& root, const PatternSet& set,
                                        const ExpandOptions& options) {
  Walker walker(root, set, options);
  CELLAR_RETURN_IF_ERROR(walker.Walk(""));
  return walker.TakeSorted();
}

}  // namespace cellar::glob
