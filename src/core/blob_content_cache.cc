#include "core/blob_content_cache.h"

#include <algorithm>
#include <cstring>

namespace cellar::core {

std::shared_ptr<const std::string> BlobContentCache::Get(const Digest& digest) {
  if (budget_ == 0) return nullptr;
  std::lock_guard lock(mu_);
  auto it = map_.find(digest);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.pos);
  return it->second.bytes;
}

void BlobContentCache::Put(const Digest& digest, std::shared_ptr<const std::string> bytes) {
  if (bytes->size() > budget_) return;
  std::lock_guard lock(mu_);
  if (map_.count(digest)) return;
  lru_.push_front(digest);
  bytes_ += bytes->size();
  map_.emplace(digest, Slot{std::move(bytes), lru_.begin()});
  while (bytes_ > budget_) {
    auto victim = map_.find(lru_.back());
    bytes_ -= victim->second.bytes->size();
    map_.erase(victim);
    lru_.pop_back();
  }
}

size_t BlobContentCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

Result<size_t> MemoryBlobReader::Read(std::span<std::byte> out) {
  size_t n = std::min(out.size(), bytes_->size() - pos_);
  std::memcpy(out.data(), bytes_->data() + pos_, n);
  pos_ += n;
  return n;
}

}  // namespace cellar::core
