// RequestTally: requests counted per minute, per route (protocol) and cache
// result, in memory, until the history (history.h) moves finished minutes
// to the stats database. Also counts bytes fetched from each upstream host,
// as route "_upstream" with the host as the result, so "bandwidth saved" is
// one query.
// Thread-safety: every method may be called from any thread (one mutex; a
// request holds it for one map update).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace cellar::stats {

// Routes starting with '_' are not protocols but other tallies kept in the
// same rows (so the stats database needs no table per kind):
// bytes fetched from each upstream, result = the host, bytes_out = bytes;
inline constexpr std::string_view kUpstreamRoute = "_upstream";
// requests per namespace, result = NamespaceResult(namespace, cache result);
inline constexpr std::string_view kNamespaceRoute = "_ns";
// build time saved by hits, result = the protocol, requests = hits that
// carried a duration, duration_ms = the time saved;
inline constexpr std::string_view kTimeSavedRoute = "_saved";
// entries evicted, result = the namespace, requests = entries, bytes_out =
// their (logical) bytes.
inline constexpr std::string_view kEvictionRoute = "_evicted";

inline bool IsProtocolRoute(std::string_view route) { return !route.empty() && route.front() != '_'; }
// "<namespace>|<cache result>": cache results never hold a '|'.
std::string NamespaceResult(std::string_view ns, std::string_view result);
// The inverse: {namespace, cache result}.
std::pair<std::string_view, std::string_view> SplitNamespaceResult(std::string_view both);

struct Counts {
  uint64_t requests = 0;
  uint64_t errors = 0;      // answered 5xx (for upstream rows: failed fetches)
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;   // for upstream rows: bytes fetched
  uint64_t duration_ms = 0; // summed
  void Add(const Counts& other);
};

struct MinuteRow {
  int64_t minute = 0;       // Unix time / 60
  std::string route;
  std::string result;       // cache result ("hit", "fill", ...), "" for none
  Counts counts;
};

class RequestTally {
 public:
  void Record(int64_t unix_ms, std::string_view route, std::string_view result, const Counts& counts);
  // Removes and returns the rows of minutes before `minute` (all rows when
  // `minute` is INT64_MAX).
  std::vector<MinuteRow> TakeBefore(int64_t minute);
  // A copy of the rows still held (the current minute, usually).
  std::vector<MinuteRow> Peek() const;

 private:
  using Key = std::tuple<int64_t, std::string, std::string>;
  mutable std::mutex mu_;
  std::map<Key, Counts, std::less<>> rows_;  // GUARDED_BY(mu_)
};

}  // namespace cellar::stats
