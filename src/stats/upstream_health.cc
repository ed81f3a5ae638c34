#include "stats/upstream_health.h"

#include <chrono>
#include <cmath>

namespace cellar::stats {

std::string HostOf(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);  // credentials
  return host;
}

UpstreamHealth::UpstreamHealth(std::function<int64_t()> now_ms) : now_ms_(std::move(now_ms)) {}

void UpstreamHealth::Fail(Host& h, const std::string& error) {
  ++h.s.errors;
  h.s.last_error_ms = now_ms_();
  h.s.last_error = error;
}

void UpstreamHealth::RecordAnswer(const std::string& host, double ms, bool ok, const std::string& error) {
  std::lock_guard lock(mu_);
  Host& h = hosts_[host];
  h.s.host = host;
  ++h.s.requests;
  size_t bucket = 0;
  while (bucket + 1 < kBuckets && ms > std::ldexp(1.0, static_cast<int>(bucket))) ++bucket;
  ++h.latency[bucket];
  if (ok) {
    h.s.last_success_ms = now_ms_();
  } else {
    Fail(h, error);
  }
}

void UpstreamHealth::RecordBody(const std::string& host, uint64_t bytes, bool ok, const std::string& error) {
  std::lock_guard lock(mu_);
  Host& h = hosts_[host];
  h.s.host = host;
  h.s.bytes += bytes;
  if (!ok) Fail(h, error);
}

void UpstreamHealth::RecordStale(std::string_view protocol) {
  std::lock_guard lock(mu_);
  auto it = stale_.find(protocol);
  if (it == stale_.end()) it = stale_.emplace(std::string(protocol), 0).first;
  ++it->second;
}

std::map<std::string, uint64_t> UpstreamHealth::StaleByProtocol() const {
  std::lock_guard lock(mu_);
  return {stale_.begin(), stale_.end()};
}

std::vector<UpstreamSnapshot> UpstreamHealth::Snapshot() const {
  std::vector<UpstreamSnapshot> out;
  std::lock_guard lock(mu_);
  for (const auto& [name, h] : hosts_) {
    UpstreamSnapshot s = h.s;
    uint64_t total = 0;
    for (uint64_t n : h.latency) total += n;
    auto percentile = [&](double p) {
      if (total == 0) return 0.0;
      const auto rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(total)));
      uint64_t seen = 0;
      for (size_t i = 0; i < kBuckets; ++i) {
        seen += h.latency[i];
        if (seen >= rank) return std::ldexp(1.0, static_cast<int>(i));
      }
      return std::ldexp(1.0, static_cast<int>(kBuckets - 1));
    };
    s.p50_ms = percentile(0.5);
    s.p99_ms = percentile(0.99);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

// Counts the body as it is read; reports when the response is let go.
class CountedResponse : public env::HttpResponse {
 public:
  CountedResponse(std::unique_ptr<env::HttpResponse> inner, std::string host, UpstreamHealth& health,
                  RequestTally& tally)
      : inner_(std::move(inner)), host_(std::move(host)), health_(health), tally_(tally) {}
  ~CountedResponse() override {
    health_.RecordBody(host_, bytes_, error_.empty(), error_);
    Counts c;
    c.bytes_out = bytes_;
    tally_.Record(health_.NowMs(), kUpstreamRoute, host_, c);
  }
  const env::HttpResponseHead& head() const override { return inner_->head(); }
  Result<size_t> Read(std::span<std::byte> out) override {
    auto n = inner_->Read(out);
    if (n.ok()) {
      bytes_ += *n;
    } else if (error_.empty()) {
      error_ = "body: " + n.error().message();
    }
    return n;
  }

 private:
  std::unique_ptr<env::HttpResponse> inner_;
  std::string host_;
  UpstreamHealth& health_;
  RequestTally& tally_;
  uint64_t bytes_ = 0;
  std::string error_;
};

}  // namespace

HealthRecordingClient::HealthRecordingClient(env::HttpClient& inner, UpstreamHealth& health, RequestTally& tally)
    : inner_(inner), health_(health), tally_(tally) {}

Result<std::unique_ptr<env::HttpResponse>> HealthRecordingClient::Send(const env::HttpRequest& request) {
  const std::string host = HostOf(request.url);
  const auto start = std::chrono::steady_clock::now();
  auto response = inner_.Send(request);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  Counts c;
  c.requests = 1;
  if (!response.ok()) {
    c.errors = 1;
    tally_.Record(health_.NowMs(), kUpstreamRoute, host, c);
    health_.RecordAnswer(host, ms, false, env::RedactUrl(response.error().message()));
    return response;
  }
  const int status = (*response)->head().status;
  const bool ok = status < 500;
  if (!ok) c.errors = 1;
  tally_.Record(health_.NowMs(), kUpstreamRoute, host, c);
  health_.RecordAnswer(host, ms, ok, ok ? "" : "HTTP " + std::to_string(status));
  return std::unique_ptr<env::HttpResponse>(
      std::make_unique<CountedResponse>(std::move(*response), host, health_, tally_));
}

}  // namespace cellar::stats
