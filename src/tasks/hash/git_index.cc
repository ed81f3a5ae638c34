#include "tasks/hash/git_index.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace cellar::taskhash {
namespace {

constexpr size_t kHeaderSize = 12;       // "DIRC", version, entry count
constexpr size_t kStatDataSize = 40;     // ten 32-bit fields
constexpr size_t kChecksumSize = 20;     // SHA-1 of everything before it
constexpr uint16_t kFlagAssumeValid = 0x8000;
constexpr uint16_t kFlagExtended = 0x4000;
constexpr uint16_t kFlagStageMask = 0x3000;
constexpr uint16_t kFlagNameMask = 0x0fff;
constexpr uint16_t kExtendedSkipWorktree = 0x4000;
constexpr uint16_t kExtendedIntentToAdd = 0x2000;
constexpr uint16_t kExtendedKnown = kExtendedSkipWorktree | kExtendedIntentToAdd;

uint32_t Be32(const unsigned char* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
uint16_t Be16(const unsigned char* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Walks the entries; nullopt on anything it does not handle.
class Parser {
 public:
  Parser(std::string_view bytes, std::string_view prefix)
      : data_(reinterpret_cast<const unsigned char*>(bytes.data())), size_(bytes.size()), prefix_(prefix) {}

  std::optional<GitIndex> Parse() {
    if (size_ < kHeaderSize + kChecksumSize || std::memcmp(data_, "DIRC", 4) != 0) return std::nullopt;
    version_ = Be32(data_ + 4);
    if (version_ < 2 || version_ > 4) return std::nullopt;
    const uint32_t count = Be32(data_ + 8);
    end_ = size_ - kChecksumSize;
    size_t at = kHeaderSize;
    GitIndex index;
    // At most `count` entries: reserved so that they are never copied (on a
    // VM, fresh pages cost more than the copying).
    index.entries.reserve(std::min<size_t>(count, (end_ - at) / (kStatDataSize + hash::kGitBlobIdLen + 2)));
    std::string path;  // the previous entry's full path (v4 compresses against it)
    for (uint32_t i = 0; i < count; ++i) {
      if (!Entry(at, path, index)) return std::nullopt;
    }
    if (!Extensions(at)) return std::nullopt;
    return index;
  }

 private:
  bool Entry(size_t& at, std::string& path, GitIndex& index) {
    const size_t start = at;
    if (end_ - at < kStatDataSize + hash::kGitBlobIdLen + 2) return false;
    const unsigned char* p = data_ + at;
    at += kStatDataSize + hash::kGitBlobIdLen;
    const uint16_t flags = Be16(data_ + at);
    at += 2;
    uint16_t extended = 0;
    if (flags & kFlagExtended) {
      if (version_ < 3 || end_ - at < 2) return false;
      extended = Be16(data_ + at);
      at += 2;
      if (extended & ~kExtendedKnown) return false;  // a flag from a newer git
    }
    if (version_ == 4) {
      // A varint: how many bytes of the previous path to drop, then the
      // rest of this path up to a NUL.
      uint64_t drop = 0;
      if (!Varint(at, drop) || drop > path.size()) return false;
      const void* nul = at < end_ ? std::memchr(data_ + at, 0, end_ - at) : nullptr;
      if (nul == nullptr) return false;
      const size_t len = static_cast<const unsigned char*>(nul) - (data_ + at);
      path.resize(path.size() - drop);
      path.append(reinterpret_cast<const char*>(data_ + at), len);
      at += len + 1;
    } else {
      size_t len = flags & kFlagNameMask;
      if (len == kFlagNameMask) {  // 4095 or longer: up to the NUL
        const void* nul = at < end_ ? std::memchr(data_ + at, 0, end_ - at) : nullptr;
        if (nul == nullptr) return false;
        len = static_cast<const unsigned char*>(nul) - (data_ + at);
      }
      if (end_ - at < len + 1) return false;
      path.assign(reinterpret_cast<const char*>(data_ + at), len);
      // Padded with 1-8 NULs to a multiple of 8 bytes from the entry's start.
      const size_t padded = (at + len - start + 8) & ~size_t{7};
      if (start + padded > end_) return false;
      for (size_t k = at + len; k < start + padded; ++k) {
        if (data_[k] != 0) return false;
      }
      at = start + padded;
    }
    if (path.empty()) return false;
    const uint32_t mode = Be32(p + 24);
    if ((mode & 0170000) == 0040000) return false;  // a sparse index's directory entry
    if (path.size() <= prefix_.size() || path.compare(0, prefix_.size(), prefix_) != 0) return true;
    GitIndexEntry& e = index.entries.emplace_back();
    e.path.assign(path, prefix_.size());
    e.ctime_s = Be32(p);
    e.ctime_ns = Be32(p + 4);
    e.mtime_s = Be32(p + 8);
    e.mtime_ns = Be32(p + 12);
    e.dev = Be32(p + 16);
    e.ino = Be32(p + 20);
    e.mode = mode;
    e.uid = Be32(p + 28);
    e.gid = Be32(p + 32);
    e.size = Be32(p + 36);
    std::memcpy(e.id.data(), p + kStatDataSize, hash::kGitBlobIdLen);
    e.stage = (flags & kFlagStageMask) >> 12;
    e.assume_valid = (flags & kFlagAssumeValid) != 0;
    e.skip_worktree = (extended & kExtendedSkipWorktree) != 0;
    e.intent_to_add = (extended & kExtendedIntentToAdd) != 0;
    return true;
  }

  // git's offset varint (varint.c): 7 bits a byte, most significant first,
  // each continuation adding one.
  bool Varint(size_t& at, uint64_t& value) {
    if (at >= end_) return false;
    unsigned char c = data_[at++];
    value = c & 0x7f;
    while (c & 0x80) {
      if (at >= end_ || value > (uint64_t{1} << 48)) return false;
      c = data_[at++];
      value = ((value + 1) << 7) | (c & 0x7f);
    }
    return true;
  }

  // Extensions: a 4-byte signature and a 32-bit size each. Those whose
  // signature starts with 'A'-'Z' are optional (caches git can rebuild);
  // any other (the split index's "link", the sparse index's "sdir") changes
  // what the entries mean, so git must answer.
  bool Extensions(size_t at) {
    while (at < end_) {
      if (end_ - at < 8) return false;
      const unsigned char first = data_[at];
      const uint32_t size = Be32(data_ + at + 4);
      if (first < 'A' || first > 'Z') return false;
      if (end_ - at - 8 < size) return false;
      at += 8 + size;
    }
    return true;
  }

  const unsigned char* data_;
  const size_t size_;
  const std::string_view prefix_;
  uint32_t version_ = 0;
  size_t end_ = 0;
};

}  // namespace

std::optional<GitIndex> ParseGitIndex(std::string_view bytes, std::string_view prefix) {
  return Parser(bytes, prefix).Parse();
}

Result<std::optional<GitIndex>> ReadGitIndex(const std::string& index_path, std::string_view prefix) {
  const int fd = ::open(index_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "cannot open git index " + index_path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status error = Status::FromErrno(errno, "cannot stat git index " + index_path);
    ::close(fd);
    return error;
  }
  // Mapped, not read: a read copies the whole file into fresh pages. git
  // replaces the index by renaming a new file over it, never rewrites it in
  // place, so the mapping cannot change under us.
  const size_t size = static_cast<size_t>(st.st_size);
  void* map = size > 0 ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (map == MAP_FAILED) return std::optional<GitIndex>();
  std::optional<GitIndex> index = ParseGitIndex(std::string_view(static_cast<const char*>(map), size), prefix);
  ::munmap(map, size);
  if (index) {
    index->file_mtime_s = st.st_mtim.tv_sec;
    index->file_mtime_ns = st.st_mtim.tv_nsec;
  }
  return index;
}

}  // namespace cellar::taskhash
