#include "index/sqlite_index.h"

#include <filesystem>

#include <chrono>
#include <limits>
#include <utility>

#include "index/sqlite_schema.h"

namespace cellar::index {

namespace {

// Column list shared by every entry query, in the order ReadEntry expects.
#define CELLAR_ENTRY_COLUMNS                                                          \
  "ns, key, digest, size, content_type, created_ms, last_access_ms, hits, fetched_at_ms, " \
  "max_age_ms, attributes"

constexpr std::string_view kGetEntry =
    "SELECT " CELLAR_ENTRY_COLUMNS " FROM entries WHERE ns = ?1 AND key = ?2";

// The blob row must exist before the entry that names it (foreign key); the
// entry triggers then raise its refcount. A fresh row briefly has refcount 0,
// so it gets a since-time like any unreferenced blob.
constexpr std::string_view kInsertBlobForPut =
    "INSERT INTO blobs (digest, size, stored_size, refcount, unreferenced_since_ms) "
    "VALUES (?1, ?2, ?3, 0, cellar_now_ms()) ON CONFLICT (digest) DO NOTHING";

constexpr std::string_view kInsertEntryIfAbsent =
    "INSERT INTO entries (" CELLAR_ENTRY_COLUMNS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (ns, key) DO NOTHING";

// An upsert rather than INSERT OR REPLACE: REPLACE deletes without firing
// the delete trigger, which would leak a reference.
constexpr std::string_view kUpsertEntry =
    "INSERT INTO entries (" CELLAR_ENTRY_COLUMNS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (ns, key) DO UPDATE SET "
    "digest = excluded.digest, size = excluded.size, content_type = excluded.content_type, "
    "created_ms = excluded.created_ms, last_access_ms = excluded.last_access_ms, "
    "hits = excluded.hits, fetched_at_ms = excluded.fetched_at_ms, "
    "max_age_ms = excluded.max_age_ms, attributes = excluded.attributes";

constexpr std::string_view kDeleteEntry = "DELETE FROM entries WHERE ns = ?1 AND key = ?2";

constexpr std::string_view kDeleteEntryIfDigest =
    "DELETE FROM entries WHERE ns = ?1 AND key = ?2 AND digest = ?3";

constexpr std::string_view kBlobRow = "SELECT size, stored_size, refcount FROM blobs WHERE digest = ?1";

// max(): buffered times may be older than a Put that happened meanwhile.
constexpr std::string_view kApplyAccess =
    "UPDATE entries SET last_access_ms = max(last_access_ms, ?1), hits = hits + ?2 "
    "WHERE ns = ?3 AND key = ?4";

constexpr std::string_view kLeastRecentlyUsed =
    "SELECT " CELLAR_ENTRY_COLUMNS " FROM entries ORDER BY last_access_ms, ns, key LIMIT ?1";

constexpr std::string_view kAccessedBefore =
    "SELECT " CELLAR_ENTRY_COLUMNS " FROM entries WHERE last_access_ms < ?1 "
    "ORDER BY last_access_ms, ns, key LIMIT ?2";

// Prefix matching by key range, not LIKE: keys contain '%' and '_' freely.
constexpr std::string_view kListRange =
    "SELECT " CELLAR_ENTRY_COLUMNS " FROM entries WHERE ns = ?1 AND key >= ?2 AND key < ?3 "
    "ORDER BY key LIMIT ?4";
constexpr std::string_view kListFrom =
    "SELECT " CELLAR_ENTRY_COLUMNS " FROM entries WHERE ns = ?1 AND key >= ?2 "
    "ORDER BY key LIMIT ?3";

// "refcount = 0" must appear literally for the partial index to apply.
constexpr std::string_view kUnreferencedBlobs =
    "SELECT digest, size, stored_size FROM blobs "
    "WHERE refcount = 0 AND unreferenced_since_ms < ?1 "
    "ORDER BY unreferenced_since_ms, digest LIMIT ?2";

constexpr std::string_view kForgetBlob = "DELETE FROM blobs WHERE digest = ?1 AND refcount = 0";

constexpr std::string_view kInsertOrphanBlob =
    "INSERT INTO blobs (digest, size, stored_size, refcount, unreferenced_since_ms) "
    "VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT (digest) DO NOTHING";

constexpr std::string_view kHasBlob = "SELECT 1 FROM blobs WHERE digest = ?1";

constexpr std::string_view kReferencedDigests =
    "SELECT DISTINCT digest FROM entries ORDER BY digest";

// From the totals the schema's triggers keep (sqlite_schema.cc, version 2):
// a few rows, however many entries there are.
constexpr std::string_view kTotals =
    "SELECT (SELECT coalesce(sum(entries), 0) FROM ns_totals), blobs, stored_bytes FROM blob_totals WHERE id = 0";

constexpr std::string_view kStatsByNamespace =
    "SELECT ns, entries, bytes FROM ns_totals WHERE entries > 0 ORDER BY ns";

// Both walk an index (entries_by_hits, entries_by_size) from its top. No
// tie-break column: one would make SQLite sort every entry (167 ms with a
// million) instead of reading the first `limit` rows of the index.
constexpr std::string_view kMostHit =
    "SELECT " CELLAR_ENTRY_COLUMNS " FROM entries ORDER BY hits DESC LIMIT ?1";
constexpr std::string_view kLargest =
    "SELECT " CELLAR_ENTRY_COLUMNS " FROM entries ORDER BY size DESC LIMIT ?1";

#undef CELLAR_ENTRY_COLUMNS

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SQLite stores signed 64-bit integers; LIMIT -1 would mean "no limit".
int64_t ClampLimit(size_t limit) {
  constexpr auto kMax = static_cast<size_t>(std::numeric_limits<int64_t>::max());
  return static_cast<int64_t>(limit > kMax ? kMax : limit);
}

// The smallest string greater than every string starting with `prefix`, or
// nullopt when there is none (empty prefix, or only 0xff bytes).
std::optional<std::string> PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

void BindEntry(Statement& stmt, const Entry& e) {
  stmt.BindText(1, e.ns);
  stmt.BindText(2, e.key);
  stmt.BindDigest(3, e.digest);
  stmt.BindInt(4, static_cast<int64_t>(e.size));
  stmt.BindText(5, e.content_type);
  stmt.BindInt(6, e.created_ms);
  stmt.BindInt(7, e.last_access_ms);
  stmt.BindInt(8, static_cast<int64_t>(e.hits));
  stmt.BindInt(9, e.fetched_at_ms);
  stmt.BindInt(10, e.max_age_ms);
  stmt.BindText(11, e.attributes);
}

Result<Entry> ReadEntry(const Statement& stmt) {
  Entry e;
  e.ns = stmt.ColumnText(0);
  e.key = stmt.ColumnText(1);
  CELLAR_ASSIGN_OR_RETURN(e.digest, stmt.ColumnDigest(2));
  e.size = static_cast<uint64_t>(stmt.ColumnInt(3));
  e.content_type = stmt.ColumnText(4);
  e.created_ms = stmt.ColumnInt(5);
  e.last_access_ms = stmt.ColumnInt(6);
  e.hits = static_cast<uint64_t>(stmt.ColumnInt(7));
  e.fetched_at_ms = stmt.ColumnInt(8);
  e.max_age_ms = stmt.ColumnInt(9);
  e.attributes = stmt.ColumnText(10);
  return e;
}

SqliteIndex::Options WithDefaults(SqliteIndex::Options options) {
  if (!options.now_ms) options.now_ms = SystemNowMs;
  return options;
}

}  // namespace

SqliteIndex::SqliteIndex(Options options) : options_(WithDefaults(std::move(options))) {}

Result<std::unique_ptr<SqliteIndex>> SqliteIndex::Open(const std::string& path) {
  return Open(path, Options());
}

Result<std::unique_ptr<SqliteIndex>> SqliteIndex::Open(const std::string& path,
                                                       Options options) {
  std::unique_ptr<SqliteIndex> index(new SqliteIndex(std::move(options)));
  CELLAR_RETURN_IF_ERROR(index->Init(path).WithContext("open index " + path));
  return index;
}

Status SqliteIndex::Init(const std::string& path) {
  std::lock_guard lock(mu_);
  std::error_code ec;
  if (options_.read_only && !std::filesystem::exists(path, ec)) return Status::NotFound("no index at " + path);
  CELLAR_ASSIGN_OR_RETURN(db_, Connection::Open(path));
  CELLAR_RETURN_IF_ERROR(
      db_->Exec("PRAGMA busy_timeout = " + std::to_string(options_.busy_timeout_ms)));
  // The first statement that reads the file: a file that is not a database
  // fails here with SQLITE_NOTADB. In-memory databases answer "memory".
  // Must precede the switch to WAL so the WAL index is kept in heap memory.
  if (options_.exclusive || options_.read_only) {
    CELLAR_RETURN_IF_ERROR(db_->Exec("PRAGMA locking_mode = EXCLUSIVE"));
  }
  if (options_.read_only) {
    CELLAR_RETURN_IF_ERROR(RegisterNowFunction(*db_, &options_.now_ms));
    CELLAR_RETURN_IF_ERROR(CheckSchema(*db_));
    return db_->Exec("PRAGMA query_only = ON");
  }
  CELLAR_RETURN_IF_ERROR(db_->Exec("PRAGMA journal_mode = WAL"));
  // NORMAL is durable across process crashes in WAL mode; a power loss may
  // drop the last commits, which for a cache means a few re-fetches.
  CELLAR_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous = NORMAL"));
  CELLAR_RETURN_IF_ERROR(db_->Exec("PRAGMA foreign_keys = ON"));
  CELLAR_RETURN_IF_ERROR(RegisterNowFunction(*db_, &options_.now_ms));
  return MigrateSchema(*db_);
}

template <typename Body>
Status SqliteIndex::InTransaction(Body&& body) {
  // IMMEDIATE takes the write lock up front, so a busy database fails (after
  // busy_timeout) before any work instead of deadlocking on lock upgrade.
  CELLAR_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  Status status = body();
  if (status.ok()) status = db_->Exec("COMMIT");
  if (!status.ok()) {
    // Some errors (FULL, IOERR) roll back by themselves; ROLLBACK then fails.
    if (!db_->InAutocommit()) (void)db_->Exec("ROLLBACK");
    return status;
  }
  ++transactions_committed_;
  return status;
}

template <typename Bind>
Result<std::vector<Entry>> SqliteIndex::QueryEntries(std::string_view sql, Bind&& bind) {
  CELLAR_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(sql));
  bind(stmt);
  std::vector<Entry> entries;
  while (true) {
    CELLAR_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return entries;
    CELLAR_ASSIGN_OR_RETURN(Entry entry, ReadEntry(stmt));
    entries.push_back(std::move(entry));
  }
}

Result<std::optional<Entry>> SqliteIndex::Get(const std::string& ns, const std::string& key) {
  std::lock_guard lock(mu_);
  CELLAR_ASSIGN_OR_RETURN(std::vector<Entry> found, QueryEntries(kGetEntry, [&](Statement& s) {
                            s.BindText(1, ns);
                            s.BindText(2, key);
                          }));
  if (found.empty()) return std::optional<Entry>();
  return std::optional<Entry>(std::move(found.front()));
}

Result<PutOutcome> SqliteIndex::Put(const Entry& entry, uint64_t stored_size, PutMode mode) {
  // Group commit: under concurrent uploads one transaction (and one WAL
  // write of the pages they share) serves many puts instead of one each.
  QueuedPut put{&entry, stored_size, mode, Status(), false, false};
  std::unique_lock lock(queue_mu_);
  queued_.push_back(&put);
  while (!put.done) {
    if (batch_running_) {
      batch_done_.wait(lock);
      continue;
    }
    batch_running_ = true;
    std::vector<QueuedPut*> batch;
    batch.swap(queued_);
    lock.unlock();
    WriteBatch(batch);
    lock.lock();
    batch_running_ = false;
    for (QueuedPut* p : batch) p->done = true;
    batch_done_.notify_all();
  }
  if (!put.result.ok()) return put.result;
  return PutOutcome{put.new_blob};
}

void SqliteIndex::WriteBatch(const std::vector<QueuedPut*>& batch) {
  std::lock_guard lock(mu_);
  const Status committed = InTransaction([&]() -> Status {
    if (batch.size() == 1) {  // no neighbours to protect: no savepoint needed
      QueuedPut* p = batch.front();
      p->result = PutLocked(*p->entry, p->stored_size, p->mode, &p->new_blob);
      return p->result;
    }
    for (QueuedPut* p : batch) {
      CELLAR_ASSIGN_OR_RETURN(Statement begin, db_->Prepare("SAVEPOINT put"));
      CELLAR_RETURN_IF_ERROR(begin.Run());
      p->result = PutLocked(*p->entry, p->stored_size, p->mode, &p->new_blob);
      if (!p->result.ok()) {
        CELLAR_ASSIGN_OR_RETURN(Statement undo, db_->Prepare("ROLLBACK TO put"));
        CELLAR_RETURN_IF_ERROR(undo.Run());
      }
      CELLAR_ASSIGN_OR_RETURN(Statement end, db_->Prepare("RELEASE put"));
      CELLAR_RETURN_IF_ERROR(end.Run());
    }
    return Status::Ok();
  });
  for (QueuedPut* p : batch) {
    // A failed transaction stored none of the batch, whatever each put said.
    if (!committed.ok() && p->result.ok()) p->result = committed;
    if (!p->result.ok()) {
      p->result = p->result.WithContext("index put " + p->entry->ns + " " + p->entry->key);
    }
  }
}

Status SqliteIndex::PutLocked(const Entry& entry, uint64_t stored_size, PutMode mode,
                              bool* new_blob) {
  {
    CELLAR_ASSIGN_OR_RETURN(Statement blob, db_->Prepare(kInsertBlobForPut));
    blob.BindDigest(1, entry.digest);
    blob.BindInt(2, static_cast<int64_t>(entry.size));
    blob.BindInt(3, static_cast<int64_t>(stored_size));
    CELLAR_RETURN_IF_ERROR(blob.Run());
    *new_blob = db_->Changes() == 1;
  }
  bool if_absent = mode == PutMode::kIfAbsent;
  CELLAR_ASSIGN_OR_RETURN(Statement stmt,
                          db_->Prepare(if_absent ? kInsertEntryIfAbsent : kUpsertEntry));
  BindEntry(stmt, entry);
  CELLAR_RETURN_IF_ERROR(stmt.Run());
  // DO NOTHING reports zero changed rows; the caller's rollback then also
  // removes a blob row inserted above.
  if (if_absent && db_->Changes() == 0) return Status::AlreadyExists("entry exists");
  return Status::Ok();
}

Status SqliteIndex::Delete(const std::string& ns, const std::string& key) {
  std::lock_guard lock(mu_);
  return InTransaction([&] {
           CELLAR_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(kDeleteEntry));
           stmt.BindText(1, ns);
           stmt.BindText(2, key);
           return stmt.Run();
         })
      .WithContext("index delete " + ns + " " + key);
}

Result<DeleteOutcome> SqliteIndex::DeleteIfDigest(const std::string& ns, const std::string& key,
                                                  const Digest& digest) {
  std::lock_guard lock(mu_);
  DeleteOutcome outcome;
  Status status = InTransaction([&]() -> Status {
    {
      CELLAR_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(kDeleteEntryIfDigest));
      stmt.BindText(1, ns);
      stmt.BindText(2, key);
      stmt.BindDigest(3, digest);
      CELLAR_RETURN_IF_ERROR(stmt.Run());
      outcome.deleted = db_->Changes() == 1;
    }
    if (!outcome.deleted) return Status::Ok();
    // The delete trigger has already dropped the reference.
    CELLAR_ASSIGN_OR_RETURN(Statement blob, db_->Prepare(kBlobRow));
    blob.BindDigest(1, digest);
    CELLAR_ASSIGN_OR_RETURN(bool row, blob.Step());
    if (row && blob.ColumnInt(2) == 0) {
      outcome.unreferenced_blob = BlobRow{digest, static_cast<uint64_t>(blob.ColumnInt(0)),
                                          static_cast<uint64_t>(blob.ColumnInt(1))};
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.WithContext("index delete " + ns + " " + key);
  return outcome;
}

void SqliteIndex::RecordAccess(const std::string& ns, const std::string& key, int64_t now_ms) {
  accesses_.Record(ns, key, now_ms);
}

Status SqliteIndex::Flush() {
  AccessBuffer::Batch batch = accesses_.Take();
  if (batch.empty()) return Status::Ok();
  const size_t count = batch.size();
  Status status;
  {
    std::lock_guard lock(mu_);
    status = InTransaction([&] { return FlushLocked(batch); });
  }
  if (status.ok()) return status;
  accesses_.Restore(std::move(batch));
  return status.WithContext("index flush of " + std::to_string(count) + " entries");
}

Status SqliteIndex::FlushLocked(const AccessBuffer::Batch& batch) {
  for (const auto& [key, pending] : batch) {
    // Entries deleted since the access match no row; that is fine.
    CELLAR_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(kApplyAccess));
    stmt.BindInt(1, pending.last_access_ms);
    stmt.BindInt(2, static_cast<int64_t>(pending.hits));
    stmt.BindText(3, key.ns);
    stmt.BindText(4, key.key);
    CELLAR_RETURN_IF_ERROR(stmt.Run());
  }
  return Status::Ok();
}

Result<std::vector<Entry>> SqliteIndex::LeastRecentlyUsed(size_t limit) {
  std::lock_guard lock(mu_);
  return QueryEntries(kLeastRecentlyUsed, [&](Statement& s) { s.BindInt(1, ClampLimit(limit)); });
}

Result<std::vector<Entry>> SqliteIndex::AccessedBefore(int64_t cutoff_ms, size_t limit) {
  std::lock_guard lock(mu_);
  return QueryEntries(kAccessedBefore, [&](Statement& s) {
    s.BindInt(1, cutoff_ms);
    s.BindInt(2, ClampLimit(limit));
  });
}

Result<std::vector<Entry>> SqliteIndex::List(const std::string& ns, const std::string& prefix,
                                             size_t limit) {
  std::optional<std::string> end = PrefixSuccessor(prefix);
  std::lock_guard lock(mu_);
  return QueryEntries(end ? kListRange : kListFrom, [&](Statement& s) {
    s.BindText(1, ns);
    s.BindText(2, prefix);
    if (end) s.BindText(3, *end);
    s.BindInt(end ? 4 : 3, ClampLimit(limit));
  });
}

Result<std::vector<BlobRow>> SqliteIndex::UnreferencedBlobs(int64_t cutoff_ms, size_t limit) {
  std::lock_guard lock(mu_);
  CELLAR_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(kUnreferencedBlobs));
  stmt.BindInt(1, cutoff_ms);
  stmt.BindInt(2, ClampLimit(limit));
  std::vector<BlobRow> rows;
  while (true) {
    CELLAR_ASSIGN_OR_RETURN(bool more, stmt.Step());
    if (!more) return rows;
    BlobRow row;
    CELLAR_ASSIGN_OR_RETURN(row.digest, stmt.ColumnDigest(0));
    row.size = static_cast<uint64_t>(stmt.ColumnInt(1));
    row.stored_size = static_cast<uint64_t>(stmt.ColumnInt(2));
    rows.push_back(row);
  }
}

Result<bool> SqliteIndex::ForgetBlobIfUnreferenced(const Digest& digest) {
  std::lock_guard lock(mu_);
  bool removed = false;
  // One statement checks and deletes, so a Put that re-references the blob
  // either lands before (nothing removed) or after (the row is re-created).
  Status status = InTransaction([&] {
    CELLAR_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(kForgetBlob));
    stmt.BindDigest(1, digest);
    CELLAR_RETURN_IF_ERROR(stmt.Run());
    removed = db_->Changes() == 1;
    return Status::Ok();
  });
  if (!status.ok()) return status.WithContext("index forget blob " + digest.Hex());
  return removed;
}

Status SqliteIndex::RecordOrphanBlob(const BlobRow& blob, int64_t now_ms) {
  std::lock_guard lock(mu_);
  return InTransaction([&] {
           CELLAR_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(kInsertOrphanBlob));
           stmt.BindDigest(1, blob.digest);
           stmt.BindInt(2, static_cast<int64_t>(blob.size));
           stmt.BindInt(3, static_cast<int64_t>(blob.stored_size));
           stmt.BindInt(4, now_ms);
           return stmt.Run();
         })
      .WithContext("index record orphan blob " + blob.digest.Hex());
}

Result<bool> SqliteIndex::HasBlob(const Digest& digest) {
  std::lock_guard lock(mu_);
  CELLAR_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(kHasBlob));
  stmt.BindDigest(1, digest);
  return stmt.Step();
}

Result<std::vector<Digest>> SqliteIndex::ReferencedDigests() {
  std::lock_guard lock(mu_);
  CELLAR_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(kReferencedDigests));
  std::vector<Digest> digests;
  while (true) {
    CELLAR_ASSIGN_OR_RETURN(bool more, stmt.Step());
    if (!more) return digests;
    CELLAR_ASSIGN_OR_RETURN(Digest digest, stmt.ColumnDigest(0));
    digests.push_back(digest);
  }
}

Result<Totals> SqliteIndex::GetTotals() {
  std::lock_guard lock(mu_);
  CELLAR_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(kTotals));
  CELLAR_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Status::Internal("index totals: no row");
  Totals totals;
  totals.entries = static_cast<uint64_t>(stmt.ColumnInt(0));
  totals.blobs = static_cast<uint64_t>(stmt.ColumnInt(1));
  totals.stored_bytes = static_cast<uint64_t>(stmt.ColumnInt(2));
  return totals;
}

Result<std::vector<Entry>> SqliteIndex::TopEntries(TopOrder order, size_t limit) {
  std::lock_guard lock(mu_);
  return QueryEntries(order == TopOrder::kMostHit ? kMostHit : kLargest,
                      [&](Statement& s) { s.BindInt(1, ClampLimit(limit)); });
}

Result<std::vector<Index::NamespaceStats>> SqliteIndex::StatsByNamespace() {
  std::lock_guard lock(mu_);
  CELLAR_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(kStatsByNamespace));
  std::vector<NamespaceStats> stats;
  while (true) {
    CELLAR_ASSIGN_OR_RETURN(bool more, stmt.Step());
    if (!more) return stats;
    NamespaceStats s;
    s.ns = stmt.ColumnText(0);
    s.entries = static_cast<uint64_t>(stmt.ColumnInt(1));
    s.bytes = static_cast<uint64_t>(stmt.ColumnInt(2));
    stats.push_back(std::move(s));
  }
}

uint64_t SqliteIndex::TransactionsCommittedForTest() const {
  std::lock_guard lock(mu_);
  return transactions_committed_;
}

}  // namespace cellar::index
