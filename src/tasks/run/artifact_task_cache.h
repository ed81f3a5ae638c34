// ArtifactTaskCache: the TaskCache of `cellar run`, made of the artifact
// format (tasks/artifact), the local cache directory and the remote
// negotiate client (tasks/cache).
//
//   Prepare  one remote LookupBatch for every hash the local cache lacks,
//            then every remote hit starts downloading at once (into the
//            local cache's temp dir, verified by the client, then inserted),
//            so a chain of dependent hits does not pay one round trip each
//   Restore  local hit: restore it, or only read its log when the outputs
//            are stamped as untouched since they last matched it (see
//            output_stamp.h). Remote hit: wait for its download and
//            restore it.
//            A restore that fails (corrupt, unsafe, cut short) is a miss.
//   Save     write the artifact (outputs + log) to a temp file, insert it in
//            the local cache, then upload it in the background
//   Finish   wait for the uploads, bounded
// A remote that is down or refuses the token is reported once (by the
// GuardedRemoteCache it is given) and the run goes on locally; a token
// without write scope keeps hits and turns uploads off, with one message.
// Thread-safety: Restore and Save are called from many task threads.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "tasks/cache/guarded_remote_cache.h"
#include "tasks/cache/local_cache.h"
#include "tasks/run/background_jobs.h"
#include "tasks/run/task_cache.h"

namespace cellar::tasks {

struct ArtifactTaskCacheOptions {
  bool read_local = true;
  bool write_local = true;
  bool read_remote = true;
  bool write_remote = true;
  size_t upload_threads = 4;
  size_t download_threads = 8;
  std::chrono::milliseconds upload_wait{120'000};       // at the end of a run
  std::chrono::milliseconds interrupted_wait{2'000};    // after SIGINT/SIGTERM
  // Where the stamps of restored outputs go (tasks/artifact/output_stamp.h):
  // a local hit whose outputs match its stamp reads only the log. Empty: no
  // stamps, every hit is restored in full.
  std::string output_stamp_dir;
};

class ArtifactTaskCache : public TaskCache {
 public:
  // `local` is required (downloads and fresh artifacts pass through its temp
  // dir even when it is not read or written); `remote` may be null (no
  // remote configured). Both must outlive this object. `warn` shows a
  // message once.
  ArtifactTaskCache(taskcache::LocalCache& local, taskcache::GuardedRemoteCache* remote,
                    ArtifactTaskCacheOptions options, std::function<void(const std::string&)> note);

  void Prepare(const std::vector<RunTask>& tasks) override;
  std::optional<Restored> Restore(const RunTask& task, std::string* warning) override;
  Status Save(const RunTask& task, const std::string& log_path, std::chrono::milliseconds duration) override;
  std::vector<std::string> Finish(bool interrupted) override;

  size_t uploads_stored() const;
  size_t uploads_skipped() const;
  // True when Finish() left uploads running: the caller must end the
  // process with _exit() rather than run destructors under them.
  bool abandoned_uploads() const { return abandoned_; }

 private:
  // Restores `artifact_path` into the task's package; a miss (with the
  // reason in *warning) when it cannot be.
  std::optional<Restored> RestoreFrom(const std::string& artifact_path, const RunTask& task, CacheSource source,
                                      std::string* warning);
  // A downloaded remote artifact: where it is, or why there is none.
  struct Fetched {
    std::optional<std::string> path;
    bool is_temp = false;  // not kept in the local cache: remove after restoring
    std::string warning;
  };
  Fetched Fetch(const taskcache::RemoteArtifact& artifact);
  // The task's output stamp file (one per task id, whatever its hash).
  std::string StampPath(const RunTask& task) const;
  void Upload(const std::string& hash, const std::string& path, const taskcache::FileDigest& digest, uint64_t duration_ms,
              bool remove_after);

  taskcache::LocalCache& local_;
  taskcache::GuardedRemoteCache* remote_;
  const ArtifactTaskCacheOptions options_;
  std::function<void(const std::string&)> note_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_future<Fetched>> fetches_;     // guarded by mu_; by hash
  size_t stored_ = 0;                                              // guarded by mu_
  size_t skipped_ = 0;                                             // guarded by mu_
  std::vector<std::string> upload_errors_;                         // guarded by mu_
  bool abandoned_ = false;  // Finish() gave up on running uploads
  // Last: destroyed first, so its threads never outlive the members above
  // (unless abandoned: then the process must end without destructors).
  std::unique_ptr<BackgroundJobs> downloads_;
  std::unique_ptr<BackgroundJobs> uploads_;
};

}  // namespace cellar::tasks
