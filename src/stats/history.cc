#include "stats/history.h"

#include <map>

namespace cellar::stats {

using nlohmann::json;

bool IsHit(std::string_view result) {
  return result == "hit" || result == "stale" || result == "revalidated" || result == "negative";
}

bool IsMiss(std::string_view result) { return result == "miss" || result == "fill" || result == "uncached"; }

std::optional<Range> ParseRange(std::string_view name) {
  if (name.empty() || name == "1h") return Range{"1h", 60, 1};
  if (name == "24h" || name == "1d") return Range{"24h", 24 * 60, 60};
  if (name == "7d" || name == "1w") return Range{"7d", 7 * 24 * 60, 120};
  return std::nullopt;
}

History::History(std::unique_ptr<StatsDb> db, std::function<int64_t()> now_ms)
    : db_(std::move(db)), now_ms_(now_ms), upstreams_(std::move(now_ms)) {}

Status History::Flush(bool all) {
  const int64_t now_minute = now_ms_() / 60'000;
  auto rows = tally_.TakeBefore(all ? INT64_MAX : now_minute);
  Status appended = db_->Append(rows);
  if (!appended.ok()) {
    // Kept for the next flush rather than lost.
    for (const auto& r : rows) tally_.Record(r.minute * 60'000, r.route, r.result, r.counts);
    return appended;
  }
  return db_->Prune(now_minute - kRetentionMinutes).status();
}

namespace {

struct Sums {
  uint64_t requests = 0, hits = 0, misses = 0, errors = 0, bytes_served = 0, bytes_from_cache = 0,
           bytes_received = 0, duration_ms = 0;
  void Add(const Counts& c, std::string_view result) {
    requests += c.requests;
    errors += c.errors;
    bytes_served += c.bytes_out;
    bytes_received += c.bytes_in;
    duration_ms += c.duration_ms;
    if (IsHit(result)) {
      hits += c.requests;
      bytes_from_cache += c.bytes_out;
    } else if (IsMiss(result)) {
      misses += c.requests;
    }
  }
  json Json() const {
    json j = {{"requests", requests}, {"hits", hits},         {"misses", misses},
              {"errors", errors},     {"bytes_served", bytes_served}, {"bytes_from_cache", bytes_from_cache},
              {"bytes_received", bytes_received}};
    j["hit_rate"] = hits + misses ? json(static_cast<double>(hits) / static_cast<double>(hits + misses)) : json();
    j["mean_ms"] = requests ? json(static_cast<double>(duration_ms) / static_cast<double>(requests)) : json();
    return j;
  }
};

// Build time saved: hits that carried a duration, and the time.
struct Saved {
  uint64_t hits = 0, ms = 0;
  void Add(const Counts& c) {
    hits += c.requests;
    ms += c.duration_ms;
  }
};

// Evictions: entries and their bytes.
struct Evicted {
  uint64_t entries = 0, bytes = 0;
  void Add(const Counts& c) {
    entries += c.requests;
    bytes += c.bytes_out;
  }
};

}  // namespace

Result<json> History::Query(const Range& range) {
  const int64_t now_ms = now_ms_();
  const int64_t now_minute = now_ms / 60'000;
  // Buckets end with the current minute's bucket.
  const int64_t last_bucket = now_minute / range.bucket_minutes;
  const int64_t buckets = range.minutes / range.bucket_minutes;
  const int64_t from_minute = (last_bucket - buckets + 1) * range.bucket_minutes;
  // Buckets of whole hours read the hourly sums (168 rows a week per route
  // and result rather than 10,080); from_minute is then hour-aligned.
  CELLAR_ASSIGN_OR_RETURN(auto rows, range.bucket_minutes % 60 == 0 ? db_->ReadHours(from_minute / 60, INT64_MAX)
                                                                    : db_->Read(from_minute, INT64_MAX));
  for (auto& r : tally_.Peek()) {
    if (r.minute >= from_minute) rows.push_back(std::move(r));
  }
  Sums totals;
  Saved saved;
  Evicted evicted;
  std::map<std::string, Sums> protocols;
  std::map<std::string, Saved> protocols_saved;
  std::map<std::string, Sums> namespaces;
  std::map<std::string, Evicted> namespaces_evicted;
  std::map<std::string, std::pair<uint64_t, uint64_t>> upstream;  // host -> requests, bytes
  std::vector<Sums> series(static_cast<size_t>(buckets));
  std::vector<uint64_t> upstream_series(static_cast<size_t>(buckets));
  std::vector<Saved> saved_series(static_cast<size_t>(buckets));
  std::vector<Evicted> evicted_series(static_cast<size_t>(buckets));
  uint64_t upstream_bytes = 0;
  for (const auto& r : rows) {
    const int64_t index = r.minute / range.bucket_minutes - (last_bucket - buckets + 1);
    if (index < 0 || index >= buckets) continue;
    const auto i = static_cast<size_t>(index);
    if (r.route == kUpstreamRoute) {
      upstream[r.result].first += r.counts.requests;
      upstream[r.result].second += r.counts.bytes_out;
      upstream_bytes += r.counts.bytes_out;
      upstream_series[i] += r.counts.bytes_out;
    } else if (r.route == kNamespaceRoute) {
      auto [ns, result] = SplitNamespaceResult(r.result);
      namespaces[std::string(ns)].Add(r.counts, result);
    } else if (r.route == kTimeSavedRoute) {
      saved.Add(r.counts);
      protocols_saved[r.result].Add(r.counts);
      saved_series[i].Add(r.counts);
    } else if (r.route == kEvictionRoute) {
      evicted.Add(r.counts);
      namespaces_evicted[r.result].Add(r.counts);
      evicted_series[i].Add(r.counts);
    } else if (IsProtocolRoute(r.route)) {
      totals.Add(r.counts, r.result);
      protocols[r.route].Add(r.counts, r.result);
      series[i].Add(r.counts, r.result);
    }
  }
  json out;
  out["range"] = std::string(range.name);
  out["bucket_seconds"] = range.bucket_minutes * 60;
  out["from_ms"] = from_minute * 60'000;
  out["now_ms"] = now_ms;
  json t = totals.Json();
  t["bytes_from_upstreams"] = upstream_bytes;
  t["time_saved_ms"] = saved.ms;
  t["time_saved_hits"] = saved.hits;
  t["evicted_entries"] = evicted.entries;
  t["evicted_bytes"] = evicted.bytes;
  out["totals"] = std::move(t);
  json list = json::array();
  for (const auto& [route, sums] : protocols) {
    json p = sums.Json();
    p["protocol"] = route;
    const Saved& s = protocols_saved[route];
    p["time_saved_ms"] = s.ms;
    p["time_saved_hits"] = s.hits;
    list.push_back(std::move(p));
  }
  out["protocols"] = std::move(list);
  // Namespaces with traffic or evictions in the range.
  for (const auto& [ns, e] : namespaces_evicted) namespaces[ns];
  json by_ns = json::array();
  for (const auto& [ns, sums] : namespaces) {
    json n = sums.Json();
    n["namespace"] = ns;
    const Evicted& e = namespaces_evicted[ns];
    n["evicted_entries"] = e.entries;
    n["evicted_bytes"] = e.bytes;
    by_ns.push_back(std::move(n));
  }
  out["namespaces"] = std::move(by_ns);
  json ups = json::array();
  for (const auto& [host, v] : upstream) ups.push_back({{"host", host}, {"requests", v.first}, {"bytes", v.second}});
  out["upstreams"] = std::move(ups);
  json points = json::array();
  for (int64_t i = 0; i < buckets; ++i) {
    const auto at = static_cast<size_t>(i);
    const Sums& s = series[at];
    points.push_back({{"t_ms", (last_bucket - buckets + 1 + i) * range.bucket_minutes * 60'000},
                      {"requests", s.requests},
                      {"hits", s.hits},
                      {"misses", s.misses},
                      {"bytes_served", s.bytes_served},
                      {"bytes_from_cache", s.bytes_from_cache},
                      {"bytes_from_upstreams", upstream_series[at]},
                      {"time_saved_ms", saved_series[at].ms},
                      {"evicted_entries", evicted_series[at].entries},
                      {"evicted_bytes", evicted_series[at].bytes}});
  }
  out["series"] = std::move(points);
  return out;
}

json History::UpstreamsJson() const {
  json list = json::array();
  for (const auto& u : upstreams_.Snapshot()) {
    json j = {{"host", u.host},     {"requests", u.requests}, {"errors", u.errors},
              {"bytes", u.bytes},   {"p50_ms", u.p50_ms},     {"p99_ms", u.p99_ms}};
    j["last_success_ms"] = u.last_success_ms ? json(u.last_success_ms) : json();
    j["last_error_ms"] = u.last_error_ms ? json(u.last_error_ms) : json();
    j["last_error"] = u.last_error.empty() ? json() : json(u.last_error);
    list.push_back(std::move(j));
  }
  json stale = json::array();
  for (const auto& [protocol, count] : upstreams_.StaleByProtocol()) {
    stale.push_back({{"protocol", protocol}, {"count", count}});
  }
  return {{"upstreams", std::move(list)}, {"stale_served", std::move(stale)}};
}

}  // namespace cellar::stats
