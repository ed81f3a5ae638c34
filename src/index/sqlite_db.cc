#include "index/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

namespace cellar::index {

Status SqliteStatus(int rc, std::string_view context, std::string_view detail) {
  std::string msg(context);
  msg += ": ";
  msg += detail;
  msg += " (sqlite code ";
  msg += std::to_string(rc);
  msg += ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status::Unavailable(std::move(msg));
    case SQLITE_FULL:
    case SQLITE_NOMEM: return Status::ResourceExhausted(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Status::Corruption(std::move(msg));
    default: return Status::Internal(std::move(msg));
  }
}

// --- Statement ---

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_), bind_rc_(other.bind_rc_) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  // reset() repeats the last step's error code; it was already reported.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::BindInt(int i, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, i, value);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindText(int i, std::string_view value) {
  // An empty view may have a null data(); SQLite would then bind NULL.
  static const char kEmpty[] = "";
  const char* data = value.empty() ? kEmpty : value.data();
  int rc = sqlite3_bind_text64(stmt_, i, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindDigest(int i, const Digest& digest) {
  int rc = sqlite3_bind_blob(stmt_, i, digest.bytes.data(), static_cast<int>(digest.bytes.size()),
                             SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

Status Statement::Error(int rc) const {
  return SqliteStatus(rc, sqlite3_sql(stmt_), sqlite3_errmsg(db_));
}

Result<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) return Error(bind_rc_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(rc);
}

Status Statement::Run() {
  while (true) {
    CELLAR_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

int64_t Statement::ColumnInt(int i) const { return sqlite3_column_int64(stmt_, i); }

std::string Statement::ColumnText(int i) const {
  const unsigned char* text = sqlite3_column_text(stmt_, i);
  int n = sqlite3_column_bytes(stmt_, i);  // after column_text, per the SQLite docs
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(n));
}

Result<Digest> Statement::ColumnDigest(int i) const {
  const void* data = sqlite3_column_blob(stmt_, i);
  int n = sqlite3_column_bytes(stmt_, i);
  Digest d;
  if (sqlite3_column_type(stmt_, i) != SQLITE_BLOB || data == nullptr ||
      static_cast<size_t>(n) != d.bytes.size()) {
    return Status::Corruption("index: stored digest is not a 32-byte blob");
  }
  __builtin_memcpy(d.bytes.data(), data, d.bytes.size());
  return d;
}

// --- Connection ---

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path) {
  sqlite3* db = nullptr;
  // NOMUTEX: the owner serialises access, so SQLite's own mutex is redundant.
  // EXRESCODE: extended result codes, for messages that say more.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
              SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status status = SqliteStatus(rc, "open " + path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);  // a handle is returned even on failure; close(nullptr) is a no-op
    return status;
  }
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Result<Statement> Connection::Prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return Statement(it->second, db_);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "prepare " + std::string(sql));
  statements_.emplace(std::string(sql), stmt);
  return Statement(stmt, db_);
}

Status Connection::Exec(std::string_view sql) {
  std::string text(sql);  // sqlite3_exec wants a NUL-terminated string
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  Status status = SqliteStatus(rc, text, err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  return status;
}

Result<int64_t> Connection::QueryInt(std::string_view sql) {
  CELLAR_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
  CELLAR_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Status::Internal(std::string(sql) + ": returned no row");
  return stmt.ColumnInt(0);
}

int64_t Connection::Changes() const { return sqlite3_changes64(db_); }

bool Connection::InAutocommit() const { return sqlite3_get_autocommit(db_) != 0; }

Status Connection::Error(int rc, std::string_view context) const {
  return SqliteStatus(rc, context, sqlite3_errmsg(db_));
}

}  // namespace cellar::index
