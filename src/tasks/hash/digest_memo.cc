#include "tasks/hash/digest_memo.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <span>

#include "hash/blake3.h"

namespace cellar::taskhash {
namespace {

// Layout: Header, `count` Records sorted by (device, inode), then the
// BLAKE3 of everything before it.
struct Header {
  char magic[12];  // "cellar-memo" and a NUL
  uint32_t version;
  uint32_t byte_order;  // kByteOrderMark as written
  uint32_t record_bytes;
  uint64_t count;
};
static_assert(sizeof(Header) == 32);

constexpr char kMagic[12] = "cellar-memo";
// 3: records hold git blob ids (20 bytes) instead of BLAKE3 digests.
constexpr uint32_t kVersion = 3;
constexpr uint32_t kByteOrderMark = 0x01020304;
constexpr size_t kTrailerBytes = 32;
// A bound on the file, far above any real workspace (160 MB at most).
constexpr size_t kMaxEntries = 2'000'000;

using Record = DigestMemo::Record;

bool KeyLess(const Record& a, const Record& b) {
  return a.device != b.device ? a.device < b.device : a.inode < b.inode;
}
bool SameKey(const Record& a, const Record& b) { return a.device == b.device && a.inode == b.inode; }

bool Matches(const Record& r, const FileStamp& s) {
  return r.size == s.size && r.mtime_ns == s.mtime_ns && r.ctime_ns == s.ctime_ns && r.mode == s.mode;
}

std::array<uint8_t, 32> Checksum(const void* data, size_t size) {
  return hash::Blake3(std::span(static_cast<const std::byte*>(data), size));
}

Status WriteAll(int fd, const void* data, size_t size, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::FromErrno(n < 0 ? errno : EIO, "cannot write " + path);
    p += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

DigestMemo::DigestMemo(std::chrono::system_clock::time_point run_start)
    : trusted_before_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             (run_start - kRacyWindow).time_since_epoch())
                             .count()) {}

DigestMemo::~DigestMemo() { Unmap(); }

void DigestMemo::Unmap() {
  if (map_ != nullptr) ::munmap(map_, map_bytes_);
  map_ = nullptr;
  map_bytes_ = 0;
  loaded_ = nullptr;
  loaded_count_ = 0;
}

void DigestMemo::Load(const std::string& path) {
  Unmap();
  {
    std::lock_guard<std::mutex> lock(mu_);
    added_.clear();
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  const bool usable = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                      static_cast<uint64_t>(st.st_size) >= sizeof(Header) + kTrailerBytes &&
                      static_cast<uint64_t>(st.st_size) <= sizeof(Header) + kMaxEntries * sizeof(Record) + kTrailerBytes;
  void* map = MAP_FAILED;
  // MAP_POPULATE maps every page in one call instead of one fault per page.
  if (usable) map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return;
  map_ = map;
  map_bytes_ = static_cast<size_t>(st.st_size);

  Header header;
  std::memcpy(&header, map_, sizeof header);
  const size_t body = map_bytes_ - kTrailerBytes;
  if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0 || header.version != kVersion ||
      header.byte_order != kByteOrderMark || header.record_bytes != sizeof(Record) ||
      header.count != (body - sizeof(Header)) / sizeof(Record) ||
      (body - sizeof(Header)) % sizeof(Record) != 0) {
    Unmap();
    return;
  }
  const auto* bytes = static_cast<const uint8_t*>(map_);
  if (Checksum(bytes, body) != std::to_array(*reinterpret_cast<const uint8_t(*)[32]>(bytes + body))) {
    Unmap();  // damaged, or cut short and padded
    return;
  }
  loaded_ = reinterpret_cast<const Record*>(bytes + sizeof(Header));
  loaded_count_ = header.count;
}

bool DigestMemo::Trusted(const FileStamp& stamp) const {
  return stamp.mtime_ns < trusted_before_ns_ && stamp.ctime_ns < trusted_before_ns_;
}

const Record* DigestMemo::FindLoaded(uint64_t device, uint64_t inode) const {
  Record key{};
  key.device = device;
  key.inode = inode;
  const Record* end = loaded_ + loaded_count_;
  const Record* it = std::lower_bound(loaded_, end, key, KeyLess);
  return it != end && SameKey(*it, key) ? it : nullptr;
}

std::optional<hash::GitBlobIdBytes> DigestMemo::Find(const FileStamp& stamp) const {
  const Record* r = FindLoaded(stamp.device, stamp.inode);
  if (r == nullptr || !Matches(*r, stamp)) return std::nullopt;
  return std::to_array(r->id);
}

void DigestMemo::Remember(const FileStamp& stamp, const hash::GitBlobIdBytes& id) {
  if (!Trusted(stamp)) return;
  if (const Record* r = FindLoaded(stamp.device, stamp.inode);
      r != nullptr && Matches(*r, stamp) && std::memcmp(r->id, id.data(), id.size()) == 0) {
    return;
  }
  Record rec{};
  rec.device = stamp.device;
  rec.inode = stamp.inode;
  rec.size = stamp.size;
  rec.mtime_ns = stamp.mtime_ns;
  rec.ctime_ns = stamp.ctime_ns;
  rec.mode = stamp.mode;
  std::memcpy(rec.id, id.data(), id.size());
  std::lock_guard<std::mutex> lock(mu_);
  if (loaded_count_ + added_.size() >= kMaxEntries) return;
  added_.push_back(rec);
}

Status DigestMemo::Save(const std::string& path) const {
  std::vector<Record> added;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (added_.empty()) return Status::Ok();
    added = added_;
  }
  // Newest first among equal keys, then keep the first of each key.
  std::stable_sort(added.begin(), added.end(), KeyLess);
  std::vector<Record> merged;
  merged.reserve(loaded_count_ + added.size());
  size_t i = 0;
  size_t j = 0;
  while (i < loaded_count_ || j < added.size()) {
    if (j < added.size()) {
      // The last remembered record of this key wins over earlier ones and the loaded one.
      size_t last = j;
      while (last + 1 < added.size() && SameKey(added[last + 1], added[j])) ++last;
      while (i < loaded_count_ && KeyLess(loaded_[i], added[j])) merged.push_back(loaded_[i++]);
      if (i < loaded_count_ && SameKey(loaded_[i], added[j])) ++i;
      merged.push_back(added[last]);
      j = last + 1;
    } else {
      merged.push_back(loaded_[i++]);
    }
  }

  Header header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kVersion;
  header.byte_order = kByteOrderMark;
  header.record_bytes = sizeof(Record);
  header.count = merged.size();
  std::vector<uint8_t> out(sizeof header + merged.size() * sizeof(Record));
  std::memcpy(out.data(), &header, sizeof header);
  if (!merged.empty()) std::memcpy(out.data() + sizeof header, merged.data(), merged.size() * sizeof(Record));
  const std::array<uint8_t, 32> sum = Checksum(out.data(), out.size());

  // A unique temporary name: two runs in one checkout may save at once, and
  // whichever rename lands last leaves a whole, valid memo.
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "cannot write " + temp);
  Status s = WriteAll(fd, out.data(), out.size(), temp);
  if (s.ok()) s = WriteAll(fd, sum.data(), sum.size(), temp);
  ::close(fd);
  if (s.ok() && ::rename(temp.c_str(), path.c_str()) != 0) s = Status::FromErrno(errno, "cannot rename " + temp);
  if (!s.ok()) ::unlink(temp.c_str());
  return s;
}

size_t DigestMemo::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loaded_count_ + added_.size();
}

}  // namespace cellar::taskhash
