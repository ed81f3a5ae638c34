#include "stats/stats_db.h"

#include "index/sqlite_db.h"

namespace cellar::stats {

namespace {

constexpr std::string_view kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS minutes (
  minute INTEGER NOT NULL,
  route TEXT NOT NULL,
  result TEXT NOT NULL,
  requests INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  bytes_in INTEGER NOT NULL,
  bytes_out INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  PRIMARY KEY (minute, route, result)
) WITHOUT ROWID;
-- The same sums per hour, so a week's query reads 168 rows per route and
-- result instead of 10,080.
CREATE TABLE IF NOT EXISTS hours (
  hour INTEGER NOT NULL,
  route TEXT NOT NULL,
  result TEXT NOT NULL,
  requests INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  bytes_in INTEGER NOT NULL,
  bytes_out INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  PRIMARY KEY (hour, route, result)
) WITHOUT ROWID;
)sql";

}  // namespace

StatsDb::StatsDb(std::unique_ptr<index::Connection> db) : db_(std::move(db)) {}
StatsDb::~StatsDb() = default;

Result<std::unique_ptr<StatsDb>> StatsDb::Open(const std::string& path) {
  CELLAR_ASSIGN_OR_RETURN(auto db, index::Connection::Open(path));
  CELLAR_RETURN_IF_ERROR(db->Exec(kSchema).WithContext("stats database " + path));
  return std::unique_ptr<StatsDb>(new StatsDb(std::move(db)));
}

Status StatsDb::Append(const std::vector<MinuteRow>& rows) {
  if (rows.empty()) return Status();
  std::lock_guard lock(mu_);
  CELLAR_RETURN_IF_ERROR(db_->Exec("BEGIN"));
  // The same upsert into the minutes and the hours: sums add up.
  auto upsert = [](std::string_view table, std::string_view time) {
    const std::string t(table), k(time);
    return "INSERT INTO " + t + " (" + k + ", route, result, requests, errors, bytes_in, bytes_out, duration_ms) " +
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (" + k + ", route, result) DO UPDATE SET " +
           "requests = requests + excluded.requests, errors = errors + excluded.errors, " +
           "bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out, " +
           "duration_ms = duration_ms + excluded.duration_ms";
  };
  static const std::string kAdd[] = {upsert("minutes", "minute"), upsert("hours", "hour")};
  for (size_t i = 0; i < 2 * rows.size(); ++i) {
    const MinuteRow& row = rows[i / 2];
    const bool hourly = i % 2 == 1;
    auto st = db_->Prepare(kAdd[hourly ? 1 : 0]);
    Status s = st.ok() ? Status() : st.error();
    if (s.ok()) {
      st->BindInt(1, hourly ? row.minute / 60 : row.minute);
      st->BindText(2, row.route);
      st->BindText(3, row.result);
      st->BindInt(4, static_cast<int64_t>(row.counts.requests));
      st->BindInt(5, static_cast<int64_t>(row.counts.errors));
      st->BindInt(6, static_cast<int64_t>(row.counts.bytes_in));
      st->BindInt(7, static_cast<int64_t>(row.counts.bytes_out));
      st->BindInt(8, static_cast<int64_t>(row.counts.duration_ms));
      s = st->Run();
    }
    if (!s.ok()) {
      (void)db_->Exec("ROLLBACK");
      return s.WithContext("stats database");
    }
  }
  return db_->Exec("COMMIT");
}

Result<std::vector<MinuteRow>> StatsDb::Read(int64_t from_minute, int64_t to_minute) {
  return ReadTable(false, from_minute, to_minute);
}

Result<std::vector<MinuteRow>> StatsDb::ReadHours(int64_t from_hour, int64_t to_hour) {
  auto rows = ReadTable(true, from_hour, to_hour);
  if (rows.ok()) {
    for (auto& r : *rows) r.minute *= 60;
  }
  return rows;
}

Result<std::vector<MinuteRow>> StatsDb::ReadTable(bool hours, int64_t from, int64_t to) {
  std::lock_guard lock(mu_);
  CELLAR_ASSIGN_OR_RETURN(auto st, db_->Prepare(hours ? "SELECT hour, route, result, requests, errors, bytes_in, "
                                                        "bytes_out, duration_ms FROM hours WHERE hour >= ?1 AND "
                                                        "hour < ?2 ORDER BY hour"
                                                      : "SELECT minute, route, result, requests, errors, bytes_in, "
                                                        "bytes_out, duration_ms FROM minutes WHERE minute >= ?1 AND "
                                                        "minute < ?2 ORDER BY minute"));
  st.BindInt(1, from);
  st.BindInt(2, to);
  std::vector<MinuteRow> out;
  while (true) {
    CELLAR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    MinuteRow r;
    r.minute = st.ColumnInt(0);
    r.route = st.ColumnText(1);
    r.result = st.ColumnText(2);
    r.counts.requests = static_cast<uint64_t>(st.ColumnInt(3));
    r.counts.errors = static_cast<uint64_t>(st.ColumnInt(4));
    r.counts.bytes_in = static_cast<uint64_t>(st.ColumnInt(5));
    r.counts.bytes_out = static_cast<uint64_t>(st.ColumnInt(6));
    r.counts.duration_ms = static_cast<uint64_t>(st.ColumnInt(7));
    out.push_back(std::move(r));
  }
  return out;
}

Result<int64_t> StatsDb::Prune(int64_t before_minute) {
  std::lock_guard lock(mu_);
  CELLAR_ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM minutes WHERE minute < ?1"));
  st.BindInt(1, before_minute);
  CELLAR_RETURN_IF_ERROR(st.Run());
  const int64_t removed = db_->Changes();
  CELLAR_ASSIGN_OR_RETURN(auto hours, db_->Prepare("DELETE FROM hours WHERE hour < ?1"));
  hours.BindInt(1, before_minute / 60);
  CELLAR_RETURN_IF_ERROR(hours.Run());
  return removed;
}

}  // namespace cellar::stats
