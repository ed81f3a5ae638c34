// Warmer: keeps configured repositories' mirrors fresh before any client
// asks (docs/protocols/git.md section 11):
// repositories with branches and a priority, a cron schedule, a
// parallelism limit, a run at start-up, and runs on demand (admin API).
// Warm-up uses the service credential from the configuration, so only the
// listed repositories are warmed; clients still pass the upstream's access
// check before anything is served to them.
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
  std::string error;
  double seconds = 0;
};
std::string WarmupReportJson(const std::vector<WarmupResult>& results);

class Warmer {
 public:
  // `allowed_hosts` as for the proxy: other hosts are refused.
  Warmer(MirrorStore& mirrors, std::vector<std::string> allowed_hosts, WarmupConfig config,
         std::function<void(bool ok)> on_result);
  ~Warmer();

  // Warms `repositories` (highest priority first, `parallelism` at a time)
  // and reports each. Blocks.
  std::vector<WarmupResult> Run(std::vector<WarmupRepository> repositories);
  const WarmupConfig& config() const { return config_; }

  // Runs at start (if configured) and on the schedule, on a thread.
  void Start();
  void Stop();

 private:
  WarmupResult WarmOne(const WarmupRepository& repo);
  void Loop();

  MirrorStore& mirrors_;
  std::vector<std::string> allowed_hosts_;
  WarmupConfig config_;
  std::function<void(bool)> on_result_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cellar::git
