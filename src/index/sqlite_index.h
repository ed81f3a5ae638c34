// SqliteIndex: the embedded Index, one SQLite database file (WAL mode). It is
// the default index of a single `cellar serve` node. Schema and migrations:
// sqlite_schema.cc.
//
// Blob reference counts are kept by triggers, inside the same transaction as
// the entry change, so they stay exact across crashes. RecordAccess only
// touches an in-memory buffer; Flush() writes the whole buffer in one
// transaction. Until then Get(), LeastRecentlyUsed() and AccessedBefore() see
// the last flushed access times and hit counts: callers Flush() before
// choosing eviction victims and before destroying the index (unflushed hits
// are dropped).
//
// Thread-safety: all methods may be called concurrently. Statements run on a
// single connection guarded by a mutex, which keeps every read consistent
// with every write at the cost of read parallelism.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "index/access_buffer.h"
#include "index/index.h"
#include "index/sqlite_db.h"

namespace cellar::index {

class SqliteIndex final : public Index {
 public:
  struct Options {
    // Wall clock in unix epoch milliseconds, read when a blob loses its last
    // reference (the start of its grace period). Defaults to the system
    // clock. Must be safe to call from any thread.
    std::function<int64_t()> now_ms;
    // How long a statement waits for another process's lock before failing
    // with kUnavailable.
    int busy_timeout_ms = 5000;
    // Hold the database lock for the life of the connection. Reads then take
    // no file locks and the WAL index lives in heap memory, which makes point
    // lookups cheaper; other processes (e.g. `cellar verify`) get kUnavailable.
    bool exclusive = false;
    // For inspecting a stopped server's index (`cellar verify`): takes the
    // lock as `exclusive` does, so the WAL index lives in heap memory and no
    // -shm file has to grow (a shared open fails with a disk I/O error on a
    // full file system), never changes the journal mode or the schema
    // (kInvalidArgument when it would need a migration), and refuses writes.
    bool read_only = false;
  };

  // Opens or creates the database at `path` (":memory:" for a private
  // in-memory one) and migrates its schema. kCorruption when the file is
  // not a usable SQLite database.
  static Result<std::unique_ptr<SqliteIndex>> Open(const std::string& path);
  static Result<std::unique_ptr<SqliteIndex>> Open(const std::string& path, Options options);

  Result<std::optional<Entry>> Get(const std::string& ns, const std::string& key) override;
  Result<PutOutcome> Put(const Entry& entry, uint64_t stored_size, PutMode mode) override;
  Status Delete(const std::string& ns, const std::string& key) override;
  Result<DeleteOutcome> DeleteIfDigest(const std::string& ns, const std::string& key,
                                       const Digest& digest) override;

  void RecordAccess(const std::string& ns, const std::string& key, int64_t now_ms) override;
  // On failure the batch is put back, so a later Flush() retries it.
  Status Flush() override;

  Result<std::vector<Entry>> LeastRecentlyUsed(size_t limit) override;
  Result<std::vector<Entry>> AccessedBefore(int64_t cutoff_ms, size_t limit) override;
  Result<std::vector<Entry>> List(const std::string& ns, const std::string& prefix,
                                  size_t limit) override;

  Result<std::vector<BlobRow>> UnreferencedBlobs(int64_t cutoff_ms, size_t limit) override;
  Result<bool> ForgetBlobIfUnreferenced(const Digest& digest) override;
  Status RecordOrphanBlob(const BlobRow& blob, int64_t now_ms) override;
  Result<bool> HasBlob(const Digest& digest) override;
  Result<std::vector<Digest>> ReferencedDigests() override;

  Result<Totals> GetTotals() override;
  Result<std::vector<NamespaceStats>> StatsByNamespace() override;
  Result<std::vector<Entry>> TopEntries(TopOrder order, size_t limit) override;

  // Write transactions committed since Open (migration excluded).
  uint64_t TransactionsCommittedForTest() const;

 private:
  explicit SqliteIndex(Options options);
  Status Init(const std::string& path);

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back when it or
  // the commit fails. REQUIRES: mu_ held.
  template <typename Body>
  Status InTransaction(Body&& body);

  // Runs an entry query (selecting the entry columns) and collects the rows.
  // `bind` binds its parameters. REQUIRES: mu_ held.
  template <typename Bind>
  Result<std::vector<Entry>> QueryEntries(std::string_view sql, Bind&& bind);

  // One Put() waiting for its turn in a group commit.
  struct QueuedPut {
    const Entry* entry;
    uint64_t stored_size;
    PutMode mode;
    Status result;
    bool new_blob = false;  // the put inserted the blob row
    bool done = false;  // guarded by queue_mu_
  };
  // Writes `batch` in one transaction, each put in a savepoint of its own so
  // that one put's failure (an existing entry for kIfAbsent) is only its own.
  void WriteBatch(const std::vector<QueuedPut*>& batch);
  // Sets *new_blob when it inserted the blob row.
  Status PutLocked(const Entry& entry, uint64_t stored_size, PutMode mode, bool* new_blob);
  Status FlushLocked(const AccessBuffer::Batch& batch);

  // Declared before db_: the connection's cellar_now_ms() points at it.
  const Options options_;
  AccessBuffer accesses_;

  // Group commit of concurrent puts: a caller that finds no batch running
  // writes everything queued so far; the others wait for its outcome.
  // Lock order: queue_mu_ is never held while taking mu_.
  std::mutex queue_mu_;
  std::condition_variable batch_done_;
  std::vector<QueuedPut*> queued_;  // guarded by queue_mu_
  bool batch_running_ = false;      // guarded by queue_mu_

  // Lock order: the AccessBuffer's lock and mu_ are never held together.
  mutable std::mutex mu_;
  std::unique_ptr<Connection> db_;       // guarded by mu_
  uint64_t transactions_committed_ = 0;  // guarded by mu_
};

}  // namespace cellar::index
