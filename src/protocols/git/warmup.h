// Warmer: keeps configured repositories' mirrors fresh before any client
// asks (docs/protocols/git.md section 11):
// repositories with branches and a priority, a cron schedule, a
// parallelism limit, a run at start-up, and runs on demand (admin API).
// Warm-up uses the service credential from the configuration, so only the
// listed repositories are warmed; clients still pass the upstream's access
// check before anything is served to them.
// Fleet mode: the start-up and scheduled runs of all nodes share the work.
// Before warming a repository a node claims it in Redis ("warm:<repo>", a
// lease that is never released and lasts until shortly before the next
// scheduled run); a repository another node claimed is skipped, and that
// node publishes it to the shared tier. Runs on demand always warm (the
// operator asked this node). With Redis down every node warms everything,
// as a single node does.
// Thread-safety: Run() may be called from any thread; Start()/Stop() once.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "protocols/git/cron.h"
#include "protocols/git/mirror_store.h"
#include "redis/leases.h"

namespace cellar::git {

struct WarmupRepository {
  std::string url;                    // https://github.com/org/repo.git
  std::vector<std::string> branches;  // must exist after the update
  int priority = 0;                   // higher first
};

struct WarmupConfig {
  std::optional<CronSchedule> schedule;
  int parallelism = 2;
  bool at_start = true;
  std::string authorization;  // service credential (an Authorization header value), may be empty
  std::vector<WarmupRepository> repositories;
};

// Loads a warm-up file (YAML):
//   schedule: "*/30 * * * *"      # optional; without it, only start-up and on-demand runs
//   parallelism: 2
//   at_start: true
//   authorization_env: CELLAR_GIT_WARMUP_AUTH   # names an env var holding e.g. "Bearer ..."
//   repositories:
//     - url: https://github.com/org/repo.git
//       branches: [main]
//       priority: 10
// The credential itself never sits in the file.
Result<WarmupConfig> LoadWarmupConfig(const std::string& path);
// Parses repositories from JSON ({"repositories":[{"url","branches","priority"}]}).
Result<std::vector<WarmupRepository>> ParseWarmupJson(std::string_view body);

struct WarmupResult {
  std::string url;
  bool ok = false;
  bool skipped = false;  // another node of the fleet claimed it (ok stays true)
  std::string error;
  double seconds = 0;
};
std::string WarmupReportJson(const std::vector<WarmupResult>& results);

// One finished run, for the dashboard's git page.
struct WarmupRun {
  int64_t started_ms = 0;   // unix milliseconds
  int64_t finished_ms = 0;
  bool on_demand = false;   // asked through the admin API (else start-up or schedule)
  std::vector<WarmupResult> results;
};

class Warmer {
 public:
  // `allowed_hosts` as for the proxy: other hosts are refused. `fleet_claims`
  // (may be null: no fleet) must outlive this.
  Warmer(MirrorStore& mirrors, std::vector<std::string> allowed_hosts, WarmupConfig config,
         std::function<void(const WarmupResult&)> on_result, redis::Leases* fleet_claims = nullptr);
  ~Warmer();

  // Warms `repositories` (highest priority first, `parallelism` at a time)
  // and reports each. Blocks.
  std::vector<WarmupResult> Run(std::vector<WarmupRepository> repositories);
  // The same, skipping repositories another node claimed; those this node
  // warms it claims for `claim_ttl`. What Start() runs.
  std::vector<WarmupResult> RunShared(std::vector<WarmupRepository> repositories,
                                      std::chrono::milliseconds claim_ttl);
  // How long a claim made at `now_s` (unix seconds) lasts: until 5% of the
  // schedule's period (at least a second) before the next scheduled run;
  // 10 minutes without a schedule.
  std::chrono::milliseconds ClaimTtl(int64_t now_s) const;
  const WarmupConfig& config() const { return config_; }
  // The last finished run, if any.
  std::optional<WarmupRun> LastRun() const;
  // When the schedule runs next after `now_s` (unix seconds); nullopt
  // without a schedule or once stopped.
  std::optional<int64_t> NextScheduledRun(int64_t now_s) const;

  // Runs at start (if configured) and on the schedule, on a thread.
  void Start();
  void Stop();

 private:
  // claim_ttl 0: no claim (runs on demand).
  std::vector<WarmupResult> RunWithClaims(std::vector<WarmupRepository> repositories,
                                          std::chrono::milliseconds claim_ttl);
  WarmupResult WarmOne(const WarmupRepository& repo, std::chrono::milliseconds claim_ttl);
  // False when another node holds the claim; true otherwise (also when
  // Redis cannot answer: then this node warms, as without a fleet).
  bool Claim(const std::string& repo_key, std::chrono::milliseconds ttl);
  void Loop();

  MirrorStore& mirrors_;
  std::vector<std::string> allowed_hosts_;
  WarmupConfig config_;
  std::function<void(const WarmupResult&)> on_result_;
  redis::Leases* const fleet_claims_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::optional<WarmupRun> last_run_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace cellar::git
