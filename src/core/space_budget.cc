#include "core/space_budget.h"

#include <algorithm>

namespace cellar::core {

uint64_t SpaceBudget::stored() const {
  std::lock_guard lock(mu_);
  return stored_;
}

uint64_t SpaceBudget::reserved() const {
  std::lock_guard lock(mu_);
  return reserved_;
}

void SpaceBudget::SetStored(uint64_t bytes) {
  std::lock_guard lock(mu_);
  stored_ = bytes;
}

void SpaceBudget::AddStored(uint64_t bytes) {
  std::lock_guard lock(mu_);
  stored_ += bytes;
}

void SpaceBudget::SubtractStored(uint64_t bytes) {
  std::lock_guard lock(mu_);
  stored_ -= std::min(stored_, bytes);
}

void SpaceBudget::Resync(uint64_t counted, uint64_t seen) {
  std::lock_guard lock(mu_);
  stored_ = counted + (stored_ > seen ? stored_ - seen : 0);
}

std::optional<DiskSpace> SpaceBudget::ReadDisk() const {
  if (!options_.disk_space) return std::nullopt;
  return options_.disk_space();
}

uint64_t SpaceBudget::Headroom(const DiskSpace& disk) const {
  return std::min(options_.max_headroom_bytes, disk.total_bytes / 8);
}

uint64_t SpaceBudget::Ceiling() const {
  uint64_t ceiling = options_.max_bytes;
  if (auto disk = ReadDisk()) {
    const uint64_t usable = disk->total_bytes - std::min(disk->total_bytes, Headroom(*disk));
    ceiling = std::min(ceiling, usable);
  }
  return ceiling;
}

uint64_t SpaceBudget::LimitLocked(const std::optional<DiskSpace>& disk) const {
  uint64_t limit = options_.max_bytes;
  if (full_at_) limit = std::min(limit, *full_at_);
  if (disk) {
    // Freeing stored bytes frees as much on disk, so this limit does not
    // move while eviction works towards it. Reserved bytes already written
    // are missing from the free space and still counted as reserved, which
    // errs towards room.
    const uint64_t headroom = Headroom(*disk);
    const uint64_t reachable = stored_ + disk->free_bytes;
    limit = std::min(limit, reachable - std::min(reachable, headroom));
  }
  return limit;
}

uint64_t SpaceBudget::ShortfallLocked(uint64_t bytes, const std::optional<DiskSpace>& disk) const {
  const uint64_t wanted = stored_ + reserved_ + bytes;
  const uint64_t limit = LimitLocked(disk);
  return wanted > limit ? wanted - limit : 0;
}

uint64_t SpaceBudget::Limit() const {
  std::optional<DiskSpace> disk = ReadDisk();
  std::lock_guard lock(mu_);
  return LimitLocked(disk);
}

bool SpaceBudget::TryReserve(uint64_t bytes) {
  std::optional<DiskSpace> disk;
  {
    std::lock_guard lock(mu_);
    // Well below every limit: no need to ask the file system.
    if (!full_at_ && !options_.disk_space && stored_ + reserved_ + bytes <= options_.max_bytes) {
      reserved_ += bytes;
      return true;
    }
  }
  disk = ReadDisk();
  std::lock_guard lock(mu_);
  if (ShortfallLocked(bytes, disk) > 0) return false;
  reserved_ += bytes;
  return true;
}

void SpaceBudget::Release(uint64_t bytes) {
  std::lock_guard lock(mu_);
  reserved_ -= std::min(reserved_, bytes);
}

uint64_t SpaceBudget::Shortfall(uint64_t bytes) const {
  std::optional<DiskSpace> disk = ReadDisk();
  std::lock_guard lock(mu_);
  return ShortfallLocked(bytes, disk);
}

void SpaceBudget::NoteDiskFull() {
  std::lock_guard lock(mu_);
  full_at_ = full_at_ ? std::min(*full_at_, stored_) : stored_;
}

void SpaceBudget::RecheckDisk() {
  std::optional<DiskSpace> disk = ReadDisk();
  std::lock_guard lock(mu_);
  if (!full_at_ || !disk) return;
  if (disk->free_bytes >= reserved_ + 2 * Headroom(*disk)) full_at_.reset();
}

}  // namespace cellar::core
