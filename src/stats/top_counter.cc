#include "stats/top_counter.h"

#include <algorithm>

namespace cellar::stats {

void TopCounter::Add(std::string_view key) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mu_);
  auto it = slots_.find(std::string(key));
  if (it == slots_.end()) {
    Slot slot;
    if (slots_.size() >= capacity_) {
      // Replace the smallest: the newcomer inherits its count as error.
      auto smallest = by_count_.begin();
      slot.error = smallest->first;
      slot.count = smallest->first;
      slots_.erase(smallest->second);
      by_count_.erase(smallest);
    }
    it = slots_.emplace(std::string(key), slot).first;
  } else {
    by_count_.erase(it->second.by_count);
  }
  ++it->second.count;
  it->second.by_count = by_count_.emplace(it->second.count, it->first);
}

std::vector<TopCounter::Item> TopCounter::Top(size_t n) const {
  std::vector<Item> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, slot] : slots_) out.push_back({key, slot.count, slot.error});
  }
  std::sort(out.begin(), out.end(), [](const Item& a, const Item& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

}  // namespace cellar::stats
