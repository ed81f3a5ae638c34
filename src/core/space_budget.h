// SpaceBudget: the byte budget of one store. CacheService counts the bytes
// at rest (the index's stored sizes) and the bytes it has promised to
// uploads in progress, and reserves before any body byte is written, so
// stored + reserved never passes the limit. The limit is the smaller of
// --max-size and what the file system holding the store can take: its free
// space, less a headroom left free so that SQLite can still write (deleting
// index rows needs room too), and capped at the stored size after a write
// failed with ENOSPC until the file system has room again.
//
// SpaceBudget only counts; CacheService decides what to evict to make up a
// Shortfall(). Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

namespace cellar::core {

struct DiskSpace {
  uint64_t free_bytes = 0;   // available to this process (statvfs f_bavail)
  uint64_t total_bytes = 0;  // size of the file system
};

struct SpaceBudgetOptions {
  uint64_t max_bytes = 0;
  // The file system holding the store, read on every reservation that
  // passes max_bytes; empty means no file system limit (in-memory stores).
  std::function<std::optional<DiskSpace>()> disk_space;
  // Kept free on the file system: the smaller of this and an eighth of it.
  uint64_t max_headroom_bytes = 64ULL << 20;
};

class SpaceBudget {
 public:
  explicit SpaceBudget(SpaceBudgetOptions options) : options_(std::move(options)) {}

  uint64_t max_bytes() const { return options_.max_bytes; }
  uint64_t stored() const;
  uint64_t reserved() const;
  void SetStored(uint64_t bytes);
  void AddStored(uint64_t bytes);
  void SubtractStored(uint64_t bytes);  // saturates at 0
  // Sets the stored bytes to `counted`, read from the index after stored()
  // returned `seen`, plus whatever was added since `seen`: a commit that
  // raced with the count may then be counted twice until the next resync,
  // but never not at all.
  void Resync(uint64_t counted, uint64_t seen);

  // The most one upload could ever be given: max_bytes, or less on a file
  // system that is smaller (whatever is evicted).
  uint64_t Ceiling() const;
  // The limit now: max_bytes, or less when the file system (stored bytes
  // plus its free space, less the headroom) or a disk-full cap says so.
  uint64_t Limit() const;
  // Reserves `bytes` when they fit now; false (nothing reserved) when room
  // must be made first.
  bool TryReserve(uint64_t bytes);
  void Release(uint64_t bytes);
  // Bytes that must be freed before `bytes` more fit; 0 when they fit now.
  uint64_t Shortfall(uint64_t bytes) const;

  // A blob write failed with ENOSPC: the file system cannot take more than
  // is stored now, whatever it reported.
  void NoteDiskFull();
  // Lifts that cap once the file system reports room (twice the headroom)
  // again. Called by eviction passes.
  void RecheckDisk();

 private:
  // REQUIRES: mu_ held. `disk` was read without it (a system call).
  uint64_t LimitLocked(const std::optional<DiskSpace>& disk) const;
  uint64_t ShortfallLocked(uint64_t bytes, const std::optional<DiskSpace>& disk) const;
  uint64_t Headroom(const DiskSpace& disk) const;
  std::optional<DiskSpace> ReadDisk() const;

  const SpaceBudgetOptions options_;
  mutable std::mutex mu_;
  uint64_t stored_ = 0;                 // GUARDED_BY(mu_)
  uint64_t reserved_ = 0;               // GUARDED_BY(mu_)
  std::optional<uint64_t> full_at_;     // GUARDED_BY(mu_): cap set by NoteDiskFull
};

}  // namespace cellar::core
