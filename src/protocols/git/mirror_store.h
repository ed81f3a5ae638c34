// MirrorStore: the bare mirrors the git cache serves from, on local disk
// under <root>/mirrors/<host>/<path>.git, and every git command that
// changes them. Upstream work (clone, fetch, pinning a commit) happens once
// at a time per repository: concurrent callers share the run in flight.
//
// Invariants (docs/protocols/git.md section 10): a mirror is never shallow
// or partial; refs move only through `fetch --atomic`; a new mirror is built
// in <root>/tmp and renamed into place, so a crash leaves either nothing or a
// complete mirror, and Init() removes leftovers. git runs with an isolated
// configuration (no global or system config, so a runner's insteadOf can
// never loop back into cellar), never prompts, and gets credentials only as
// an http.extraHeader through GIT_CONFIG_* environment variables: never in
// argv, never on disk.
// Thread-safety: all methods may be called from any thread; they block.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/single_flight.h"
#include "env/clock.h"
#include "env/process_runner.h"
#include "index/document_versions.h"
#include "protocols/git/shared_tier.h"
#include "redis/fleet_lock.h"

namespace cellar::git {

// Which idle mirrors go first once the mirrors pass max_bytes (the two
// policies of the git-cache design, docs/protocols/git.md section 9).
enum class MirrorEvictionPolicy {
  kLeastRecentlyUsed,
  // Mirrors created longer than max_age ago first, then the rest; within
  // each group, those with the most bytes per use first.
  kSizeAndAge,
};

struct MirrorOptions {
  std::string root;  // <data-dir>/git
  std::chrono::milliseconds fetch_timeout{30 * 60 * 1000};
  uint64_t max_bytes = 0;  // high watermark of all mirrors together; 0 = unlimited
  MirrorEvictionPolicy eviction_policy = MirrorEvictionPolicy::kLeastRecentlyUsed;
  int64_t max_age_ms = 7LL * 24 * 3600 * 1000;  // kSizeAndAge only
  const env::Clock* clock = nullptr;            // null: the system clock
  // Called after every upstream clone or fetch that actually ran (not for
  // callers that joined one in flight), and after every eviction.
  // `grown_bytes`: how much the mirror grew (what came from the upstream).
  std::function<void(bool ok, double seconds, uint64_t grown_bytes)> on_upstream_run;
  std::function<void()> on_evicted;
  // Called (outside any lock, must not block) each time a client is served
  // from a mirror: fleet mode tallies it for the bucket's eviction.
  std::function<void(const std::string& repo_key)> on_use;
  // Fleet mode (docs/protocols/git.md, "Shared tier"): a new mirror is
  // first built from the bucket's copy, then fetched from the upstream for
  // what changed since; after every upstream run that changed a mirror,
  // on_changed(repo_key) is called (inside the repository's flight: it
  // should only schedule work, e.g. MirrorPublisher::Schedule).
  SharedGitTier* shared_tier = nullptr;
  // `keep` must live until the change is published: it holds the fleet
  // lease (below), so other nodes wait for the bucket's copy instead of
  // fetching from the upstream themselves.
  std::function<void(const std::string& repo_key, std::shared_ptr<void> keep)> on_changed;
  // Fleet mode with Redis: one node at a time fetches a repository from its
  // upstream (lease "git:<repo_key>"); null: no fleet-wide lock.
  redis::FleetLock* fleet_lock = nullptr;
  // Fleet mode with Redis: after every successful upstream run a node
  // announces its mirror's refs (a digest of for-each-ref) as document
  // ("git/refs", repo_key), so another node serving refs from its own
  // mirror under --git-ref-ttl learns that they changed
  // (RefsSupersededElsewhere). Null: no fleet.
  index::DocumentVersions* ref_versions = nullptr;
  // After each attempt to build a mirror from the shared tier: ok, and the
  // bundle bytes read. Not called when the bucket has no copy.
  std::function<void(bool ok, uint64_t bytes)> on_restored;
};

struct EvictionResult {
  int evicted = 0;
  uint64_t bytes_after = 0;
};

class MirrorStore {
 public:
  // Every git command runs through `runner` (a fake in tests).
  MirrorStore(MirrorOptions options, env::ProcessRunner& runner);

  // Creates the directories, removes interrupted work (temporary mirrors,
  // trash) and measures the mirrors already present.
  Status Init();

  std::string PathFor(const std::string& repo_key) const;
  bool Exists(const std::string& repo_key) const;

  // Brings the mirror up to date from `url`: clones it when absent, fetches
  // otherwise. `authorization` (a client's Authorization header, may be
  // empty) is handed to git for this run only.
  Status Update(const std::string& repo_key, const std::string& url, const std::string& authorization);
  // Fetches specific commits (e.g. a pull-request head asked for by id) and
  // pins them under refs/cache/pins/<oid> so they stay reachable.
  Status FetchObjects(const std::string& repo_key, const std::string& url, const std::vector<std::string>& oids,
                      const std::string& authorization);
  // The subset of `oids` the mirror lacks (all of them when it is absent).
  Result<std::vector<std::string>> Missing(const std::string& repo_key, const std::vector<std::string>& oids);

  // True when the mirror has `ref` (e.g. refs/heads/main).
  Result<bool> HasRef(const std::string& repo_key, const std::string& ref);

  // Environment for a git child: isolated config, no prompts, no lazy
  // fetches, plus `authorization` as an extra header when non-empty.
  std::vector<std::string> GitEnv(const std::string& authorization, const std::string& git_protocol) const;
  // The same for a store rooted at `root`, before one exists (the shared
  // tier's git runs with it).
  static std::vector<std::string> GitEnvFor(const std::string& root, const std::string& authorization,
                                            const std::string& git_protocol);
  // Directory upload-pack may advertise capabilities from before a mirror
  // exists (an empty repository with the mirrors' configuration).
  std::string TemplatePath() const;

  // True when the mirror was brought up to date from the upstream within
  // the last `max_age_ms` (a marker file, so it survives restarts).
  bool FetchedWithin(const std::string& repo_key, int64_t max_age_ms) const;
  // Fleet mode: true when another node announced different refs for the
  // repository, fetched after this mirror was: its copy of the refs is old
  // and must not be served as fresh. False without ref_versions, and when
  // Redis cannot answer (the mirror's own age then decides). Blocks on
  // Redis: never on an I/O thread.
  bool RefsSupersededElsewhere(const std::string& repo_key) const;
  bool TracksFleetRefs() const { return options_.ref_versions != nullptr; }

  // Remembers (in a marker file inside the mirror, so it survives restarts)
  // whether the upstream last let anonymous clients read the repository.
  void MarkPublic(const std::string& repo_key, bool is_public);
  // True when marked public within the last `max_age_ms`.
  bool PublicWithin(const std::string& repo_key, int64_t max_age_ms) const;

  // Serving a mirror holds a use so eviction passes it by.
  void BeginUse(const std::string& repo_key);
  // A client's fetch (a clone or a fetch's pack) was answered from the
  // mirror: the dashboard's clones served.
  void CountServed(const std::string& repo_key);
  void EndUse(const std::string& repo_key);
  // Evicts idle mirrors, in the order of the eviction policy, until the
  // total is below 90% of max_bytes (only when it is above max_bytes).
  EvictionResult EvictIfNeeded();
  // Every mirror this node holds, by repository key, for the dashboard.
  // Reads each mirror's fetch stamp from disk: worker threads only.
  struct MirrorInfo {
    std::string repo;
    uint64_t bytes = 0;
    int64_t last_fetch_ms = 0;  // 0: never fetched since it was built here
    int64_t last_use_ms = 0;
    int64_t created_ms = 0;
    uint64_t clones_served = 0;  // client fetches answered since start-up
  };
  std::vector<MirrorInfo> Snapshot() const;
  uint64_t max_bytes() const { return options_.max_bytes; }
  uint64_t total_bytes() const { return total_bytes_.load(); }
  int mirror_count() const;

 private:
  Status Clone(const std::string& repo_key, const std::string& url, const std::string& authorization);
  Status Fetch(const std::string& repo_key, const std::string& url, const std::string& authorization,
               const std::vector<std::string>& refspecs);
  // Fills the empty repository `tmp` from the shared tier; false when
  // there is none, no copy, or it failed (tmp is then empty again).
  bool RestoreFromSharedTier(const std::string& repo_key, const std::string& tmp);
  // Renames the finished repository `tmp` into place as repo_key's mirror.
  Status Place(const std::string& repo_key, const std::string& tmp);
  Result<env::RunResult> RunGit(std::vector<std::string> args, const std::string& authorization,
                                const std::string& input = "");
  void Measure(const std::string& repo_key);
  // Records the mirror's refs digest beside it and announces it (fleet mode).
  void AnnounceRefs(const std::string& repo_key);
  int64_t NowMs() const;
  void Maintain(const std::string& repo_key);
  static constexpr int kMaxPacks = 8;

  struct MirrorState {
    uint64_t bytes = 0;
    int64_t last_use_ms = 0;
    int64_t created_ms = 0;  // when this node built it (for kSizeAndAge)
    uint64_t uses = 0;       // uses since start-up, warm-ups included (for kSizeAndAge)
    uint64_t served = 0;     // client fetches answered since start-up
    int users = 0;
  };

  MirrorOptions options_;
  env::ProcessRunner& runner_;
  core::SingleFlight<Status> flights_;
  mutable std::mutex mu_;
  std::map<std::string, MirrorState> mirrors_;
  std::atomic<uint64_t> total_bytes_{0};
  std::atomic<uint64_t> tmp_counter_{0};
};

}  // namespace cellar::git
