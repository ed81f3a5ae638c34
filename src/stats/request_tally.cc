#include "stats/request_tally.h"

namespace cellar::stats {

void Counts::Add(const Counts& other) {
  requests += other.requests;
  errors += other.errors;
  bytes_in += other.bytes_in;
  bytes_out += other.bytes_out;
  duration_ms += other.duration_ms;
}

std::string NamespaceResult(std::string_view ns, std::string_view result) {
  std::string out(ns);
  out += '|';
  out += result;
  return out;
}

std::pair<std::string_view, std::string_view> SplitNamespaceResult(std::string_view both) {
  const size_t bar = both.rfind('|');
  if (bar == std::string_view::npos) return {both, {}};
  return {both.substr(0, bar), both.substr(bar + 1)};
}

void RequestTally::Record(int64_t unix_ms, std::string_view route, std::string_view result, const Counts& counts) {
  const int64_t minute = unix_ms / 60'000;
  std::lock_guard lock(mu_);
  auto it = rows_.find(std::make_tuple(minute, route, result));
  if (it == rows_.end()) it = rows_.emplace(Key{minute, std::string(route), std::string(result)}, Counts{}).first;
  it->second.Add(counts);
}

std::vector<MinuteRow> RequestTally::TakeBefore(int64_t minute) {
  std::vector<MinuteRow> out;
  std::lock_guard lock(mu_);
  auto end = rows_.lower_bound(std::make_tuple(minute, std::string_view(), std::string_view()));
  for (auto it = rows_.begin(); it != end; ++it) {
    out.push_back({std::get<0>(it->first), std::get<1>(it->first), std::get<2>(it->first), it->second});
  }
  rows_.erase(rows_.begin(), end);
  return out;
}

std::vector<MinuteRow> RequestTally::Peek() const {
  std::vector<MinuteRow> out;
  std::lock_guard lock(mu_);
  for (const auto& [key, counts] : rows_) out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), counts});
  return out;
}

}  // namespace cellar::stats
