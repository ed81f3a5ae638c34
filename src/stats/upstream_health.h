// UpstreamHealth: per upstream host, what the dashboard's upstream page
// shows: requests, failures, bytes, the last success and the last error
// (when and why), and time-to-answer percentiles since start. Fed by
// HealthRecordingClient, which wraps the client every pull-through adapter
// fetches through, and which also counts the fetched bytes per minute in the
// request tally (route "_upstream").
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "env/http_client.h"
#include "stats/request_tally.h"

namespace cellar::stats {

struct UpstreamSnapshot {
  std::string host;
  uint64_t requests = 0;
  uint64_t errors = 0;  // unreachable, 5xx, broken body
  uint64_t bytes = 0;
  int64_t last_success_ms = 0;  // 0: never
  int64_t last_error_ms = 0;
  std::string last_error;
  double p50_ms = 0;  // time to the answer's headers; bucket upper bounds
  double p99_ms = 0;
};

class UpstreamHealth {
 public:
  // `now_ms`: the wall clock (a fake in tests).
  explicit UpstreamHealth(std::function<int64_t()> now_ms);
  void RecordAnswer(const std::string& host, double ms, bool ok, const std::string& error);
  void RecordBody(const std::string& host, uint64_t bytes, bool ok, const std::string& error);
  std::vector<UpstreamSnapshot> Snapshot() const;
  int64_t NowMs() const { return now_ms_(); }
  // An answer served stale because its upstream failed (npm packuments, Go
  // lists, git with --git-serve-stale), counted per protocol: the handler
  // knows it answered stale, not which host failed.
  void RecordStale(std::string_view protocol);
  std::map<std::string, uint64_t> StaleByProtocol() const;

 private:
  // Buckets of 2^i ms (i = 0..20), the last one open.
  static constexpr size_t kBuckets = 22;
  struct Host {
    UpstreamSnapshot s;
    std::array<uint64_t, kBuckets> latency{};
  };
  void Fail(Host& h, const std::string& error);
  std::function<int64_t()> now_ms_;
  mutable std::mutex mu_;
  std::map<std::string, Host> hosts_;  // GUARDED_BY(mu_)
  std::map<std::string, uint64_t, std::less<>> stale_;  // GUARDED_BY(mu_)
};

class HealthRecordingClient : public env::HttpClient {
 public:
  // `inner`, `health` and `tally` must outlive this client.
  HealthRecordingClient(env::HttpClient& inner, UpstreamHealth& health, RequestTally& tally);
  Result<std::unique_ptr<env::HttpResponse>> Send(const env::HttpRequest& request) override;

 private:
  env::HttpClient& inner_;
  UpstreamHealth& health_;
  RequestTally& tally_;
};

// "https://user:pw@registry.npmjs.org:443/x" -> "registry.npmjs.org:443".
std::string HostOf(const std::string& url);

}  // namespace cellar::stats
