// Thin RAII layer over the SQLite C API, used only by SqliteIndex: a
// connection that caches prepared statements, a statement handle that resets
// itself when it goes out of scope, and the one mapping from SQLite result
// codes to Status.
// Thread-safety: none. A Connection and its Statements must be used by one
// thread at a time; SqliteIndex serialises all use under its mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/digest.h"
#include "base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cellar::index {

// Maps a SQLite result code (primary or extended) to a Status whose message is
// "<context>: <detail>". kUnavailable for BUSY/LOCKED (retryable),
// kResourceExhausted for FULL/NOMEM, kCorruption for CORRUPT/NOTADB, else
// kInternal. `detail` is usually sqlite3_errmsg().
Status SqliteStatus(int rc, std::string_view context, std::string_view detail);

// A borrowed prepared statement. Destruction resets it and clears its
// bindings so the cached statement is ready for the next use; the Connection
// that produced it must outlive it.
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQL. A failed bind is reported by the next
  // Step() so call sites stay linear. Text and blobs are copied.
  void BindInt(int i, int64_t value);
  void BindText(int i, std::string_view value);
  void BindDigest(int i, const Digest& digest);

  // Advances the statement: true when a row is available, false when done.
  Result<bool> Step();
  // Runs a statement that returns no rows (or whose rows are ignored).
  Status Run();

  // Columns are 0-based. Valid only after Step() returned true.
  int64_t ColumnInt(int i) const;
  std::string ColumnText(int i) const;
  // kCorruption when the stored value is not a 32-byte blob.
  Result<Digest> ColumnDigest(int i) const;

 private:
  Status Error(int rc) const;

  sqlite3_stmt* stmt_;
  sqlite3* db_;
  int bind_rc_ = 0;  // first failed bind, reported by Step()
};

// One SQLite connection plus its cache of prepared statements.
class Connection {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" gives a
  // private in-memory database.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();  // finalises cached statements, then closes

  // Returns the cached statement for `sql`, preparing it on first use. The
  // cache is keyed by the SQL text, so callers pass the same literal each time.
  Result<Statement> Prepare(std::string_view sql);
  // Runs one or more statements without caching (pragmas, DDL).
  Status Exec(std::string_view sql);
  // Runs a single-row, single-column query such as "PRAGMA user_version".
  Result<int64_t> QueryInt(std::string_view sql);

  // Rows changed by the last INSERT/UPDATE/DELETE, not counting triggers.
  int64_t Changes() const;
  // False while a transaction is open.
  bool InAutocommit() const;

  // Error for `rc` with the connection's current message.
  Status Error(int rc, std::string_view context) const;

  sqlite3* raw() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  // Transparent, so looking up a string_view allocates nothing.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>()(sql); }
  };

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> statements_;
};

}  // namespace cellar::index
