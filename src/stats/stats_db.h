// StatsDb: per-minute request counts kept on disk, so the dashboard's
// history survives a restart. A SQLite file of its own
// (<data-dir>/stats.db), not a table in the index: a minute's flush then
// never waits for, or holds, the index's write lock. Retention is bounded
// (Prune): a week and a day of minutes is at most a few hundred thousand rows.
// Thread-safety: every method may be called from any thread (one mutex);
// every method blocks on the disk: call from a worker or ticker thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "stats/request_tally.h"

namespace cellar::index {
class Connection;
}

namespace cellar::stats {

class StatsDb {
 public:
  static Result<std::unique_ptr<StatsDb>> Open(const std::string& path);
  ~StatsDb();

  // Adds the rows to what is stored for their minute (a minute flushed in
  // two parts, as at shutdown and restart, sums up).
  Status Append(const std::vector<MinuteRow>& rows);
  // Rows with from_minute <= minute < to_minute, in minute order.
  Result<std::vector<MinuteRow>> Read(int64_t from_minute, int64_t to_minute);
  // The same sums per hour (from_hour <= hour < to_hour), each row's
  // `minute` the hour's first minute: for ranges bucketed by whole hours.
  Result<std::vector<MinuteRow>> ReadHours(int64_t from_hour, int64_t to_hour);
  // Deletes minutes before `minute`; returns how many rows went.
  Result<int64_t> Prune(int64_t before_minute);

 private:
  explicit StatsDb(std::unique_ptr<index::Connection> db);
  Result<std::vector<MinuteRow>> ReadTable(bool hours, int64_t from, int64_t to);
  std::mutex mu_;
  std::unique_ptr<index::Connection> db_;  // GUARDED_BY(mu_)
};

}  // namespace cellar::stats
