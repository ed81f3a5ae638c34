#include "protocols/goproxy/module_hash.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <set>

#include "base/base64.h"
#include "base/digest.h"
#include "base/strings.h"
#include "hash/sha256.h"

namespace cellar::goproxy {

namespace {

// Characters the go command allows in file names (module.CheckFilePath).
// Non-ASCII bytes are allowed: Go permits Unicode letters there.
bool FileNameCharOk(unsigned char c) {
  if (c >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&()+,-.=@[]^_{}~ ").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsWindowsReservedName(std::string_view short_name) {
  static constexpr std::string_view kReserved[] = {"CON", "PRN", "AUX", "NUL"};
  for (auto r : kReserved) {
    if (EqualsIgnoreCase(short_name, r)) return true;
  }
  if (short_name.size() == 4 && short_name[3] >= '1' && short_name[3] <= '9') {
    auto stem = short_name.substr(0, 3);
    return EqualsIgnoreCase(stem, "COM") || EqualsIgnoreCase(stem, "LPT");
  }
  return false;
}

// Why `rel` (a path below the module prefix) is not a valid module file
// path, or empty when it is.
std::string FilePathProblem(std::string_view rel) {
  for (auto elem : SplitView(rel, '/')) {
    if (elem.empty() || elem == "." || elem == "..") return "path is not clean";
    if (elem.back() == '.') return "trailing dot in path element";
    for (char c : elem) {
      if (!FileNameCharOk(static_cast<unsigned char>(c))) return "invalid character in file name";
    }
    std::string_view short_name = elem.substr(0, elem.find('.'));
    if (IsWindowsReservedName(short_name)) return "reserved file name (Windows)";
    if (size_t tilde = short_name.rfind('~'); tilde != std::string_view::npos && tilde + 1 < short_name.size() &&
        std::all_of(short_name.begin() + static_cast<long>(tilde) + 1, short_name.end(),
                    [](char c) { return c >= '0' && c <= '9'; })) {
      return "trailing tilde and digits in path element (Windows short name)";
    }
  }
  return "";
}

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

Status Problem(std::string_view entry, std::string_view why) {
  return Status::Corruption("module zip entry \"" + std::string(entry) + "\": " + std::string(why));
}

}  // namespace

Result<std::string> DirHash1(std::vector<HashedFile> files) {
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  hash::Sha256Hasher summary;
  for (const auto& [name, digest] : files) {
    if (name.find('\n') != std::string::npos) {
      return Status::InvalidArgument("file name contains a newline: " + name);
    }
    std::string line = ToHex(digest) + "  " + name + "\n";
    summary.Update(line.data(), line.size());
  }
  auto sum = summary.Finalize();
  return "h1:" + Base64Encode(std::string_view(reinterpret_cast<const char*>(sum.data()), sum.size()));
}

std::string ModFileHash1(std::string_view go_mod) {
  std::vector<HashedFile> one;
  one.emplace_back("go.mod", hash::Sha256(std::as_bytes(std::span(go_mod.data(), go_mod.size()))));
  return *DirHash1(std::move(one));  // "go.mod" has no newline
}

Result<std::string> CheckModuleZip(int fd, std::string_view module_path, std::string_view version,
                                   const ZipLimits& limits) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "stat module zip");
  if (static_cast<uint64_t>(st.st_size) > limits.max_zip_bytes) {
    return Status::Corruption("module zip is too large (" + std::to_string(st.st_size) + " bytes; limit is " +
                              std::to_string(limits.max_zip_bytes) + ")");
  }
  // libzip reads through its own descriptor; it owns the duplicate.
  int own_fd = ::dup(fd);
  if (own_fd < 0) return Status::FromErrno(errno, "dup module zip descriptor");
  if (::lseek(own_fd, 0, SEEK_SET) < 0) {
    ::close(own_fd);
    return Status::FromErrno(errno, "seek module zip");
  }
  int zip_error = 0;
  std::unique_ptr<zip_t, ZipCloser> archive(zip_fdopen(own_fd, ZIP_CHECKCONS, &zip_error));
  if (!archive) {
    ::close(own_fd);
    zip_error_t err;
    zip_error_init_with_code(&err, zip_error);
    std::string why = zip_error_strerror(&err);
    zip_error_fini(&err);
    return Status::Corruption("not a valid zip file: " + why);
  }

  const std::string prefix = std::string(module_path) + "@" + std::string(version) + "/";
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  std::set<std::string> folded_names;
  uint64_t unpacked = 0;
  std::vector<HashedFile> hashed;
  std::vector<char> buf(64 * 1024);
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t zs;
    zip_stat_init(&zs);
    if (zip_stat_index(archive.get(), static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW, &zs) != 0 ||
        !(zs.valid & ZIP_STAT_NAME) || !(zs.valid & ZIP_STAT_SIZE)) {
      return Status::Corruption("module zip entry " + std::to_string(i) + " is unreadable");
    }
    const std::string name = zs.name;
    if (!name.starts_with(prefix)) return Problem(name, "path does not have prefix \"" + prefix + "\"");
    std::string rel = name.substr(prefix.size());
    const bool is_dir = rel.ends_with("/");
    if (is_dir) rel.pop_back();
    if (!rel.empty()) {
      if (auto why = FilePathProblem(rel); !why.empty()) return Problem(name, why);
      if (!folded_names.insert(ToLower(rel)).second) return Problem(name, "case-insensitive file name collision");
      std::string_view base = std::string_view(rel).substr(rel.rfind('/') + 1);
      if (!is_dir && EqualsIgnoreCase(base, "go.mod") && rel != "go.mod") {
        return Problem(name, base != rel ? "go.mod file not in module root directory" : "go.mod file name has wrong case");
      }
      if (!is_dir && rel == "go.mod" && zs.size > limits.max_go_mod_bytes) return Problem(name, "go.mod file too large");
      if (!is_dir && rel == "LICENSE" && zs.size > limits.max_license_bytes) return Problem(name, "LICENSE file too large");
    }
    if (zs.size > limits.max_unpacked_bytes - std::min(unpacked, limits.max_unpacked_bytes)) {
      return Status::Corruption("total uncompressed size of module contents is larger than " +
                                std::to_string(limits.max_unpacked_bytes) + " bytes");
    }
    unpacked += zs.size;

    // Hash the content; libzip checks the CRC once the entry is read to its end.
    std::unique_ptr<zip_file_t, ZipFileCloser> file(zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(i), 0));
    if (!file) return Problem(name, std::string("cannot open: ") + zip_strerror(archive.get()));
    hash::Sha256Hasher content;
    uint64_t read_total = 0;
    while (true) {
      zip_int64_t n = zip_fread(file.get(), buf.data(), buf.size());
      if (n < 0) return Problem(name, std::string("cannot read: ") + zip_file_strerror(file.get()));
      if (n == 0) break;
      read_total += static_cast<uint64_t>(n);
      if (read_total > zs.size) return Problem(name, "content longer than its declared size");
      content.Update(buf.data(), static_cast<size_t>(n));
    }
    if (read_total != zs.size) return Problem(name, "content shorter than its declared size");
    hashed.emplace_back(name, content.Finalize());
  }
  auto h1 = DirHash1(std::move(hashed));
  if (!h1.ok()) return Status::Corruption("module zip: " + h1.error().message());
  return h1;
}

}  // namespace cellar::goproxy
