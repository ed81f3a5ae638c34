#include "index/sqlite_schema.h"

#include <sqlite3.h>

#include <functional>
#include <iterator>
#include <string>

namespace cellar::index {

namespace {

// Version 1.
//
// blobs: one row per blob the index knows about. refcount is the number of
// entries naming the blob; unreferenced_since_ms is set when refcount drops
// to 0 (or the row is recorded as an orphan) and cleared when it rises, so
// garbage collection can honour a grace period.
//
// entries: (ns, key) -> blob and metadata. The foreign key makes it
// impossible to forget a blob row that an entry still names, even if a
// refcount were ever wrong; entries_by_digest keeps that check (and
// ReferencedDigests) from scanning the table.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE blobs (
  digest BLOB NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
  size INTEGER NOT NULL,
  stored_size INTEGER NOT NULL,
  refcount INTEGER NOT NULL DEFAULT 0 CHECK (refcount >= 0),
  unreferenced_since_ms INTEGER
) WITHOUT ROWID;

CREATE INDEX blobs_unreferenced ON blobs(unreferenced_since_ms) WHERE refcount = 0;

CREATE TABLE entries (
  ns TEXT NOT NULL,
  key TEXT NOT NULL,
  digest BLOB NOT NULL REFERENCES blobs(digest),
  size INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  last_access_ms INTEGER NOT NULL,
  hits INTEGER NOT NULL,
  fetched_at_ms INTEGER NOT NULL,
  max_age_ms INTEGER NOT NULL,
  attributes TEXT NOT NULL,
  PRIMARY KEY (ns, key)
);

CREATE INDEX entries_by_last_access ON entries(last_access_ms);
CREATE INDEX entries_by_digest ON entries(digest);

-- In an UPDATE, every SET expression sees the row as it was before, so
-- "refcount = 1" below means "this removes the last reference".
CREATE TRIGGER entries_ref_insert AFTER INSERT ON entries BEGIN
  UPDATE blobs SET refcount = refcount + 1, unreferenced_since_ms = NULL
    WHERE digest = NEW.digest;
END;

CREATE TRIGGER entries_ref_delete AFTER DELETE ON entries BEGIN
  UPDATE blobs SET refcount = refcount - 1,
      unreferenced_since_ms =
          CASE WHEN refcount = 1 THEN cellar_now_ms() ELSE unreferenced_since_ms END
    WHERE digest = OLD.digest;
END;

CREATE TRIGGER entries_ref_update AFTER UPDATE OF digest ON entries
    WHEN OLD.digest IS NOT NEW.digest BEGIN
  UPDATE blobs SET refcount = refcount + 1, unreferenced_since_ms = NULL
    WHERE digest = NEW.digest;
  UPDATE blobs SET refcount = refcount - 1,
      unreferenced_since_ms =
          CASE WHEN refcount = 1 THEN cellar_now_ms() ELSE unreferenced_since_ms END
    WHERE digest = OLD.digest;
END;
)sql";

// Version 2: totals kept up to date by triggers, so /api/v1/stats and the
// dashboard read a few rows instead of scanning every entry and blob (with
// a million entries the scans took seconds; docs/dashboard.md).
//
// ns_totals: entries and bytes (their `size`) per namespace; a namespace
// whose last entry went keeps a row of zeros. blob_totals: one row, the
// number of blobs and their stored bytes. Blob sizes never change after the
// row is written, so blob_totals needs no update trigger.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE ns_totals (
  ns TEXT NOT NULL PRIMARY KEY,
  entries INTEGER NOT NULL,
  bytes INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO ns_totals (ns, entries, bytes) SELECT ns, count(*), coalesce(sum(size), 0) FROM entries GROUP BY ns;

CREATE TABLE blob_totals (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  blobs INTEGER NOT NULL,
  stored_bytes INTEGER NOT NULL
);
INSERT INTO blob_totals (id, blobs, stored_bytes) SELECT 0, count(*), coalesce(sum(stored_size), 0) FROM blobs;

CREATE TRIGGER entries_totals_insert AFTER INSERT ON entries BEGIN
  INSERT INTO ns_totals (ns, entries, bytes) VALUES (NEW.ns, 1, NEW.size)
    ON CONFLICT (ns) DO UPDATE SET entries = entries + 1, bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER entries_totals_delete AFTER DELETE ON entries BEGIN
  UPDATE ns_totals SET entries = entries - 1, bytes = bytes - OLD.size WHERE ns = OLD.ns;
END;

CREATE TRIGGER entries_totals_update AFTER UPDATE OF ns, size ON entries BEGIN
  UPDATE ns_totals SET entries = entries - 1, bytes = bytes - OLD.size WHERE ns = OLD.ns;
  INSERT INTO ns_totals (ns, entries, bytes) VALUES (NEW.ns, 1, NEW.size)
    ON CONFLICT (ns) DO UPDATE SET entries = entries + 1, bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER blobs_totals_insert AFTER INSERT ON blobs BEGIN
  UPDATE blob_totals SET blobs = blobs + 1, stored_bytes = stored_bytes + NEW.stored_size WHERE id = 0;
END;

-- The dashboard's top lists (most hit, largest) read these from the top.
CREATE INDEX entries_by_hits ON entries(hits);
CREATE INDEX entries_by_size ON entries(size);

CREATE TRIGGER blobs_totals_delete AFTER DELETE ON blobs BEGIN
  UPDATE blob_totals SET blobs = blobs - 1, stored_bytes = stored_bytes - OLD.stored_size WHERE id = 0;
END;
)sql";

struct Migration {
  int64_t to_version;
  const char* sql;
};

// Steps in order; each takes the schema from to_version - 1 to to_version.
constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
};
static_assert(std::size(kMigrations) == kSchemaVersion);

void NowMs(sqlite3_context* ctx, int /*argc*/, sqlite3_value** /*argv*/) {
  auto* now_ms = static_cast<const std::function<int64_t()>*>(sqlite3_user_data(ctx));
  sqlite3_result_int64(ctx, (*now_ms)());
}

Status MigrateLocked(Connection& db) {
  // Read the version inside the write transaction: another process may have
  // migrated the file between our open and our lock.
  CELLAR_ASSIGN_OR_RETURN(int64_t version, db.QueryInt("PRAGMA user_version"));
  if (version > kSchemaVersion) {
    return Status::InvalidArgument("index schema version " + std::to_string(version) +
                                   " is newer than this cellar supports (" +
                                   std::to_string(kSchemaVersion) + ")");
  }
  for (const Migration& step : kMigrations) {
    if (step.to_version <= version) continue;
    CELLAR_RETURN_IF_ERROR(db.Exec(step.sql).WithContext("migrate index schema to version " +
                                                         std::to_string(step.to_version)));
  }
  if (version == kSchemaVersion) return Status::Ok();
  return db.Exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
}

}  // namespace

Status RegisterNowFunction(Connection& db, const std::function<int64_t()>* now_ms) {
  // INNOCUOUS so the triggers may call it even with trusted_schema=OFF.
  int rc = sqlite3_create_function_v2(db.raw(), "cellar_now_ms", 0, SQLITE_UTF8 | SQLITE_INNOCUOUS,
                                      const_cast<std::function<int64_t()>*>(now_ms), NowMs, nullptr,
                                      nullptr, nullptr);
  if (rc != SQLITE_OK) return db.Error(rc, "register cellar_now_ms");
  return Status::Ok();
}

Status CheckSchema(Connection& db) {
  CELLAR_ASSIGN_OR_RETURN(int64_t version, db.QueryInt("PRAGMA user_version"));
  if (version == kSchemaVersion) return Status::Ok();
  return Status::InvalidArgument("index schema version " + std::to_string(version) + " is not this cellar's (" +
                                 std::to_string(kSchemaVersion) + "); start `cellar serve` on it once to migrate");
}

Status MigrateSchema(Connection& db) {
  CELLAR_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  Status status = MigrateLocked(db);
  if (status.ok()) status = db.Exec("COMMIT");
  if (!status.ok() && !db.InAutocommit()) (void)db.Exec("ROLLBACK");
  return status;
}

}  // namespace cellar::index
