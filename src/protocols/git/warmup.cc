#include "protocols/git/warmup.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "base/log.h"
#include "base/strings.h"
#include "giturl/repository_url.h"
#include "protocols/git/git_request.h"

namespace cellar::git {

namespace {
// "https://host/path(.git)" -> repository key and upstream URL, checked
// like a proxied request.
Result<GitTarget> TargetOf(const std::string& url, const std::vector<std::string>& allowed_hosts) {
  CELLAR_ASSIGN_OR_RETURN(auto loc, giturl::ParseRepositoryUrl(url));
  // A list is config, often checked in: secrets do not belong there.
  if (loc.had_credentials) return Status::InvalidArgument("warm-up URLs must not carry credentials");
  if (std::find(allowed_hosts.begin(), allowed_hosts.end(), loc.host) == allowed_hosts.end()) {
    return Status::PermissionDenied("host '" + loc.host + "' is not in --git-allowed-hosts");
  }
  return TargetIn(std::move(loc), GitService::kUploadPack);
}

Result<WarmupRepository> RepositoryFromJson(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("url") || !j["url"].is_string()) {
    return Status::InvalidArgument("each repository needs a \"url\"");
  }
  WarmupRepository r;
  r.url = j["url"].get<std::string>();
  if (auto b = j.find("branches"); b != j.end()) {
    if (!b->is_array()) return Status::InvalidArgument("\"branches\" must be a list");
    for (const auto& x : *b) {
      if (!x.is_string()) return Status::InvalidArgument("branch names must be strings");
      r.branches.push_back(x.get<std::string>());
    }
  }
  if (auto p = j.find("priority"); p != j.end()) {
    if (!p->is_number_integer()) return Status::InvalidArgument("\"priority\" must be an integer");
    r.priority = p->get<int>();
  }
  return r;
}
}  // namespace

Result<WarmupConfig> LoadWarmupConfig(const std::string& path) {
  WarmupConfig c;
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (auto s = root["schedule"]) {
      auto schedule = CronSchedule::Parse(s.as<std::string>());
      if (!schedule.ok()) return Status::InvalidArgument(path + ": " + schedule.error().message());
      c.schedule = *schedule;
    }
    if (auto p = root["parallelism"]) c.parallelism = std::clamp(p.as<int>(), 1, 64);
    if (auto a = root["at_start"]) c.at_start = a.as<bool>();
    if (auto e = root["authorization_env"]) {
      const char* value = std::getenv(e.as<std::string>().c_str());
      if (!value) return Status::InvalidArgument(path + ": environment variable " + e.as<std::string>() + " is not set");
      c.authorization = value;
    }
    for (const auto& r : root["repositories"]) {
      WarmupRepository repo;
      repo.url = r["url"].as<std::string>();
      if (auto b = r["branches"]) {
        for (const auto& x : b) repo.branches.push_back(x.as<std::string>());
      }
      if (auto p = r["priority"]) repo.priority = p.as<int>();
      c.repositories.push_back(std::move(repo));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("git warm-up file " + path + ": " + e.what());
  }
  return c;
}

Result<std::vector<WarmupRepository>> ParseWarmupJson(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("repositories") || !j["repositories"].is_array()) {
    return Status::InvalidArgument("expected {\"repositories\": [{\"url\": ..., \"branches\": [...]}]}");
  }
  std::vector<WarmupRepository> repos;
  for (const auto& r : j["repositories"]) {
    CELLAR_ASSIGN_OR_RETURN(auto repo, RepositoryFromJson(r));
    repos.push_back(std::move(repo));
  }
  return repos;
}

std::string WarmupReportJson(const std::vector<WarmupResult>& results) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json item = nlohmann::json::object();
    item["url"] = r.url;
    item["ok"] = r.ok;
    if (r.skipped) item["skipped"] = true;
    item["seconds"] = r.seconds;
    if (!r.ok) item["error"] = r.error;
    list.push_back(item);
  }
  nlohmann::json out = nlohmann::json::object();
  out["results"] = list;
  return out.dump();
}

Warmer::Warmer(MirrorStore& mirrors, std::vector<std::string> allowed_hosts, WarmupConfig config,
               std::function<void(const WarmupResult&)> on_result, redis::Leases* fleet_claims)
    : mirrors_(mirrors), allowed_hosts_(std::move(allowed_hosts)), config_(std::move(config)),
      on_result_(std::move(on_result)), fleet_claims_(fleet_claims) {}

Warmer::~Warmer() { Stop(); }

bool Warmer::Claim(const std::string& repo_key, std::chrono::milliseconds ttl) {
  auto claimed = fleet_claims_->TryAcquire("warm:" + repo_key, ttl);
  if (!claimed.ok()) {
    Log(LogLevel::kWarn, "git warm-up: fleet claim unavailable, warming here: " + claimed.error().message());
    return true;
  }
  // The claim is never released: it keeps the other nodes from warming the
  // repository again until shortly before the next run.
  return claimed->has_value();
}

WarmupResult Warmer::WarmOne(const WarmupRepository& repo, std::chrono::milliseconds claim_ttl) {
  auto start = std::chrono::steady_clock::now();
  WarmupResult result;
  result.url = giturl::WithoutCredentials(repo.url);
  auto target = TargetOf(repo.url, allowed_hosts_);
  Status s = target.ok() ? Status() : target.error();
  if (s.ok() && fleet_claims_ != nullptr && claim_ttl.count() > 0 && !Claim(target->repo_key, claim_ttl)) {
    result.ok = true;
    result.skipped = true;
    if (on_result_) on_result_(result);
    Log(LogLevel::kInfo, "git warm-up skipped: another node of the fleet warms it",
        "\"url\":\"" + JsonEscape(result.url) + "\"");
    return result;
  }
  if (s.ok()) {
    std::string url = repo.url;
    while (url.ends_with("/")) url.pop_back();
    s = mirrors_.Update(target->repo_key, url, config_.authorization);
  }
  if (s.ok()) {
    for (const auto& branch : repo.branches) {
      auto has = mirrors_.HasRef(target->repo_key, "refs/heads/" + branch);
      if (!has.ok() || !*has) {
        s = Status::NotFound("branch '" + branch + "' not found upstream");
        break;
      }
    }
  }
  result.ok = s.ok();
  result.error = s.ok() ? "" : s.message();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (on_result_) on_result_(result);
  Log(result.ok ? LogLevel::kInfo : LogLevel::kWarn, "git warm-up",
      "\"url\":\"" + JsonEscape(result.url) + "\",\"ok\":" + (result.ok ? "true" : "false") +
          (result.ok ? "" : ",\"error\":\"" + JsonEscape(result.error) + "\""));
  return result;
}

std::vector<WarmupResult> Warmer::Run(std::vector<WarmupRepository> repositories) {
  return RunWithClaims(std::move(repositories), std::chrono::milliseconds(0));
}

std::vector<WarmupResult> Warmer::RunShared(std::vector<WarmupRepository> repositories,
                                            std::chrono::milliseconds claim_ttl) {
  return RunWithClaims(std::move(repositories), std::max(claim_ttl, std::chrono::milliseconds(1)));
}

std::chrono::milliseconds Warmer::ClaimTtl(int64_t now_s) const {
  if (!config_.schedule) return std::chrono::minutes(10);
  const int64_t next = config_.schedule->Next(now_s);
  const int64_t period_ms = (config_.schedule->Next(next) - next) * 1000;
  const int64_t margin_ms = std::max<int64_t>(1000, period_ms / 20);
  return std::chrono::milliseconds(std::max<int64_t>(1000, (next - now_s) * 1000 - margin_ms));
}

std::vector<WarmupResult> Warmer::RunWithClaims(std::vector<WarmupRepository> repositories,
                                                std::chrono::milliseconds claim_ttl) {
  auto unix_now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  WarmupRun run;
  run.started_ms = unix_now_ms();
  run.on_demand = claim_ttl.count() == 0;
  std::stable_sort(repositories.begin(), repositories.end(),
                   [](const auto& a, const auto& b) { return a.priority > b.priority; });
  std::vector<WarmupResult> results(repositories.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < repositories.size(); i = next++) results[i] = WarmOne(repositories[i], claim_ttl);
  };
  size_t n = std::min<size_t>(static_cast<size_t>(std::max(1, config_.parallelism)), repositories.size());
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  run.finished_ms = unix_now_ms();
  run.results = results;
  std::lock_guard lock(mu_);
  last_run_ = std::move(run);
  return results;
}

std::optional<WarmupRun> Warmer::LastRun() const {
  std::lock_guard lock(mu_);
  return last_run_;
}

std::optional<int64_t> Warmer::NextScheduledRun(int64_t now_s) const {
  std::lock_guard lock(mu_);
  if (!config_.schedule || stopping_) return std::nullopt;
  return config_.schedule->Next(now_s);
}

void Warmer::Start() {
  if (!config_.at_start && !config_.schedule) return;
  thread_ = std::thread([this] { Loop(); });
}

void Warmer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Warmer::Loop() {
  auto unix_now_s = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  if (config_.at_start) RunShared(config_.repositories, ClaimTtl(unix_now_s()));
  while (config_.schedule) {
    int64_t next = config_.schedule->Next(unix_now_s());
    std::unique_lock lock(mu_);
    if (cv_.wait_until(lock, std::chrono::system_clock::time_point(std::chrono::seconds(next)),
                       [this] { return stopping_; })) {
      return;
    }
    lock.unlock();
    RunShared(config_.repositories, ClaimTtl(unix_now_s()));
  }
}

}  // namespace cellar::git
