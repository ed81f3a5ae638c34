// The SqliteIndex on-disk schema and its migrations. The schema version lives
// in SQLite's user_version pragma; MigrateSchema() brings a database from any
// older version to kSchemaVersion in one transaction. To change the schema,
// append a step to kMigrations in sqlite_schema.cc and bump kSchemaVersion.
//
// Reference counting is done by triggers on `entries`, so every change to an
// entry adjusts blobs.refcount in the same transaction (exact and crash-safe).
// The triggers call cellar_now_ms(), an application-defined SQL function the
// connection must register (RegisterNowFunction) before writing entries. A
// plain sqlite3 shell therefore cannot delete or re-point entries; that is
// deliberate, since edits that bypass cellar have no clock for the grace
// period.
// Thread-safety: functions take a Connection, which is single-threaded.
#pragma once

#include <cstdint>
#include <functional>

#include "base/status.h"
#include "index/sqlite_db.h"

namespace cellar::index {

inline constexpr int64_t kSchemaVersion = 2;

// Registers cellar_now_ms() on the connection. `now_ms` must outlive it.
Status RegisterNowFunction(Connection& db, const std::function<int64_t()>* now_ms);

// Creates or upgrades the schema. kInvalidArgument when the database was
// written by a newer cellar (its version is above kSchemaVersion).
Status MigrateSchema(Connection& db);
// Without changing anything: OK when the schema is exactly kSchemaVersion,
// kInvalidArgument when it is older (needs a migration) or newer.
Status CheckSchema(Connection& db);

}  // namespace cellar::index
