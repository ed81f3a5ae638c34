// Filler: single-flight pull-through fills. The first request for a missing
// (namespace, key) starts one upstream transfer on a fill thread; every
// request for the same key, before or during the transfer, reads the same
// bytes as they arrive. The bytes go to a blob writer and to an unlinked
// spool file at once; the entry is committed only after the transfer ends
// and the verifier accepts it. A failed or aborted fill stores nothing and
// every reader gets the error. When the store cannot keep the bytes (it is
// full and no room can be made, or the disk fails), the fill goes on as a
// pass-through: its readers still get the verified bytes, nothing is
// stored, and that is logged and counted (fills result "uncached"). On a
// full file system the spool moves to memory.
//
// Used by the pull-through protocols (npm, Go, git). Thread-safety: all
// methods may be called concurrently; a FillReader is single-threaded and
// its Read() blocks, so call it from a worker thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "core/cache_service.h"
#include "core/fleet_fill_lock.h"

namespace cellar::core {

// One upstream transfer, produced by FillSpec::open on the fill thread.
class UpstreamSource {
 public:
  virtual ~UpstreamSource() = default;
  // Length when the upstream announced it.
  virtual std::optional<uint64_t> size() const = 0;
  // Reads up to out.size() bytes; 0 at the end.
  virtual Result<size_t> Read(std::span<std::byte> out) = 0;
};


struct FillSpec {
  PutOptions put;  // where and how the result is stored (ns, key, verifier, ...)
  // Opens the upstream. kNotFound means the upstream has no such object.
  std::function<Result<std::unique_ptr<UpstreamSource>>()> open;
  // Optional check of the complete bytes, for formats that cannot be
  // verified as a stream (a zip's directory is at its end). Runs on the fill
  // thread after the last byte and before the commit, with the spool file
  // (read it with pread) and its size; it may set entry attributes on `put`,
  // which is null when the bytes are not being stored. An error fails the
  // fill and nothing is stored.
  std::function<Status(int spool_fd, uint64_t size, PendingPut* put)> before_commit;
};

struct FillState;

class FillReader {
 public:
  ~FillReader();
  // Blocks until bytes are available; 0 at the verified end. An error means
  // the fill failed (the bytes read so far must be discarded).
  Result<size_t> Read(std::span<std::byte> out);
  // The announced length, else the final one once the fill has ended.
  std::optional<uint64_t> size() const;
  // Blocks until the fill has ended: OK once verified and committed (at once
  // for a cache hit), else the fill's error. Lets a caller withhold the
  // response until it knows the bytes are good.
  Status WaitForEnd();
  // Entry attributes of a cache hit ("{}" while following a fill).
  std::string attributes() const;
  // After WaitForEnd() succeeded: false when the fill served its readers
  // without storing the bytes (read them from this reader, not the cache).
  bool stored() const;
  bool from_cache() const { return hit_ != nullptr; }
  const std::string& content_type() const { return content_type_; }

 private:
  friend class Filler;
  std::unique_ptr<Hit> hit_;          // set when served from the cache
  std::shared_ptr<FillState> fill_;   // set when following a fill
  uint64_t pos_ = 0;
  std::string content_type_;
};

class Filler {
 public:
  // `cache` must outlive the filler. `spool_dir` holds unlinked spool files.
  // With `fleet` (which must outlive the filler too), a fill of a shared
  // entry first takes the fleet-wide lease on its key (see
  // fleet_fill_lock.h); when another node held it, the entry that node
  // published is served instead of a new upstream transfer.
  Filler(CacheService& cache, std::string spool_dir, FleetFillLock* fleet = nullptr);
  ~Filler();  // waits for fills in progress

  // Hit, or join/start the fill for spec.put's key. Returns once the
  // upstream has answered (so callers can map kNotFound before sending
  // headers).
  Result<std::unique_ptr<FillReader>> GetOrFill(FillSpec spec);
  // Number of fills started (for tests and metrics).
  uint64_t fills_started() const;

 private:
  void RunFill(std::shared_ptr<FillState> state, FillSpec spec);

  // With a fleet lock and a shared entry: waits for the fleet-wide lease on
  // the key; when another node held it, the entry it published (nullopt
  // when there is none: it failed, or gave up).
  std::optional<std::unique_ptr<Hit>> FillFromFleet(const PutOptions& put, FleetFillLock::Hold& hold);

  CacheService& cache_;
  const std::string spool_dir_;
  FleetFillLock* const fleet_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<FillState>> in_flight_;  // GUARDED_BY(mu_)
  uint64_t fills_started_ = 0;  // GUARDED_BY(mu_)
  std::condition_variable idle_cv_;
  int running_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace cellar::core
