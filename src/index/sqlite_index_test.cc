// SqliteIndex-specific behaviour: persistence, transactions, schema versions
// and error mapping. The shared contract is checked by
// index_conformance_test.cc.
#include "index/sqlite_index.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <atomic>
#include <vector>

#include "index/sqlite_db.h"
#include "index/sqlite_schema.h"

namespace cellar::index {
namespace {

class SqliteIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::filesystem::path(::testing::TempDir()) / "cellar-sqlite-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/index.db";
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::unique_ptr<SqliteIndex> OpenOrDie(SqliteIndex::Options options = {}) {
    options.now_ms = [this] { return now_ms_; };
    auto opened = SqliteIndex::Open(path_, std::move(options));
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  // A second, raw connection to the same file, as another process would have.
  sqlite3* RawOpen() {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    return db;
  }

  static Entry MakeEntry(std::string key, uint8_t digest_byte) {
    Entry e;
    e.ns = "ns";
    e.key = std::move(key);
    e.digest.bytes[0] = digest_byte;
    e.size = 10;
    e.created_ms = 1;
    e.last_access_ms = 1;
    return e;
  }

  std::string dir_;
  std::string path_;
  int64_t now_ms_ = 1000;
};

TEST_F(SqliteIndexTest, ReopeningFileKeepsEntriesBlobsAndReferences) {
  {
    auto index = OpenOrDie();
    ASSERT_NE(index, nullptr);
    ASSERT_TRUE(index->Put(MakeEntry("a", 1), 5, PutMode::kOverwrite).ok());
    ASSERT_TRUE(index->Put(MakeEntry("b", 2), 7, PutMode::kOverwrite).ok());
    now_ms_ = 2000;
    ASSERT_TRUE(index->Delete("ns", "b").ok());
    index->RecordAccess("ns", "a", 50);
    ASSERT_TRUE(index->Flush().ok());
  }
  auto index = OpenOrDie();
  ASSERT_NE(index, nullptr);
  auto a = index->Get("ns", "a");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->last_access_ms, 50);
  EXPECT_EQ((*a)->hits, 1u);
  auto unreferenced = index->UnreferencedBlobs(2001, 10);
  ASSERT_TRUE(unreferenced.ok());
  ASSERT_EQ(unreferenced->size(), 1u);
  EXPECT_EQ((*unreferenced)[0].digest.bytes[0], 2);
  EXPECT_FALSE(*index->ForgetBlobIfUnreferenced(MakeEntry("a", 1).digest));
  EXPECT_EQ(index->GetTotals()->stored_bytes, 12u);
}

// A full file system as SQLite meets it: no file may grow. RLIMIT_FSIZE 0
// (with SIGXFSZ ignored, writes fail with EFBIG) does that without root; it
// runs in a child process so the limit stays there. `cellar verify` opens
// read-only so it can still report a store on a full disk.
TEST_F(SqliteIndexTest, ReadOnlyOpenWorksWhenNoFileMayGrow) {
  {
    auto index = OpenOrDie();
    ASSERT_NE(index, nullptr);
    ASSERT_TRUE(index->Put(MakeEntry("a", 1), 5, PutMode::kOverwrite).ok());
  }  // closed: the WAL is checkpointed and the -shm file removed
  auto open_with_no_room = [this](bool read_only) {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit no_growth{0, RLIM_INFINITY};
    ::setrlimit(RLIMIT_FSIZE, &no_growth);
    SqliteIndex::Options options;
    options.read_only = read_only;
    auto index = SqliteIndex::Open(path_, options);
    // No message can be printed: the death test's capture of stderr is a
    // file, which may not grow either. Exit codes tell the outcome.
    if (!index.ok()) std::_Exit(index.error().message().find("disk I/O error") != std::string::npos ? 3 : 1);
    auto referenced = (*index)->ReferencedDigests();
    bool write_refused = !(*index)->Put(MakeEntry("b", 2), 5, PutMode::kOverwrite).ok();
    std::_Exit(referenced.ok() && referenced->size() == 1 && write_refused ? 0 : 2);
  };
  EXPECT_EXIT(open_with_no_room(true), ::testing::ExitedWithCode(0), "");
  // The shared open the server does needs a -shm file that can grow.
  EXPECT_EXIT(open_with_no_room(false), ::testing::ExitedWithCode(3), "");
}

TEST_F(SqliteIndexTest, ReadOnlyOpenNeitherCreatesNorMigrates) {
  SqliteIndex::Options options;
  options.read_only = true;
  EXPECT_EQ(SqliteIndex::Open(path_, options).error().code(), Code::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path_));
  sqlite3* raw = RawOpen();
  ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE t(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  auto old = SqliteIndex::Open(path_, options);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code(), Code::kInvalidArgument);
  EXPECT_NE(old.error().message().find("migrate"), std::string::npos);
}

TEST_F(SqliteIndexTest, FlushWritesTenThousandAccessesInOneTransaction) {
  auto index = OpenOrDie();
  ASSERT_NE(index, nullptr);
  constexpr int kEntries = 10'000;
  for (int i = 0; i < kEntries; ++i) {
    ASSERT_TRUE(index->Put(MakeEntry(std::to_string(i), 1), 1, PutMode::kOverwrite).ok());
  }
  for (int i = 0; i < kEntries; ++i) index->RecordAccess("ns", std::to_string(i), 100 + i);
  uint64_t before = index->TransactionsCommittedForTest();
  ASSERT_TRUE(index->Flush().ok());
  EXPECT_EQ(index->TransactionsCommittedForTest(), before + 1);
  auto last = index->Get("ns", std::to_string(kEntries - 1));
  EXPECT_EQ((*last)->last_access_ms, 100 + kEntries - 1);
  EXPECT_EQ((*last)->hits, 1u);
  // An empty flush opens no transaction at all.
  ASSERT_TRUE(index->Flush().ok());
  EXPECT_EQ(index->TransactionsCommittedForTest(), before + 1);
}

TEST_F(SqliteIndexTest, ConcurrentPutsKeepTheirOwnOutcomesInGroupCommits) {
  auto index = OpenOrDie();
  ASSERT_NE(index, nullptr);
  constexpr int kThreads = 8, kPerThread = 150;
  std::atomic<int> first_writes{0}, refused{0}, other_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every thread races for the same "shared" keys (first write wins)
        // and also writes keys of its own (overwrite).
        const bool shared = i % 2 == 0;
        Entry e = MakeEntry(shared ? "shared-" + std::to_string(i) : "own-" + std::to_string(t) + "-" +
                                                                          std::to_string(i),
                            static_cast<uint8_t>(t + 1));
        if (shared) {  // a blob of its own for every racing put
          e.digest.bytes[0] = 200;
          e.digest.bytes[1] = static_cast<uint8_t>(t);
          e.digest.bytes[2] = static_cast<uint8_t>(i);
        }
        Status s = index->Put(e, 10, shared ? PutMode::kIfAbsent : PutMode::kOverwrite).status();
        if (s.ok()) {
          if (shared) ++first_writes;
        } else if (shared && s.code() == Code::kAlreadyExists) {
          ++refused;
        } else {
          ++other_errors;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_EQ(first_writes.load(), kPerThread / 2);  // exactly one writer per shared key
  EXPECT_EQ(refused.load(), (kThreads - 1) * kPerThread / 2);
  for (int i = 0; i < kPerThread; i += 2) {
    auto got = index->Get("ns", "shared-" + std::to_string(i));
    ASSERT_TRUE(got.ok() && got->has_value()) << i;
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 1; i < kPerThread; i += 2) {
      auto got = index->Get("ns", "own-" + std::to_string(t) + "-" + std::to_string(i));
      ASSERT_TRUE(got.ok() && got->has_value()) << t << " " << i;
      EXPECT_EQ((*got)->digest.bytes[0], t + 1);
    }
  }
  // Refused puts were rolled back to their savepoints: only the winners'
  // blob rows exist (one per thread for the own keys, one per shared key).
  index.reset();
  sqlite3* raw = RawOpen();
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT count(*) FROM blobs", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), kThreads + kPerThread / 2);
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
}

TEST_F(SqliteIndexTest, OpenOfRandomBytesIsCorruption) {
  std::mt19937 rng(42);
  std::ofstream(path_, std::ios::binary) << [&] {
    std::string junk(8192, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    return junk;
  }();
  auto opened = SqliteIndex::Open(path_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kCorruption) << opened.status().ToString();
  EXPECT_NE(opened.status().message().find(path_), std::string::npos);
}

TEST_F(SqliteIndexTest, FreshDatabaseUsesWalAndCurrentSchemaVersion) {
  ASSERT_NE(OpenOrDie(), nullptr);
  sqlite3* db = RawOpen();
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(stmt, 0), kSchemaVersion);
  sqlite3_finalize(stmt);
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// A version 1 index (no totals tables) is migrated with its totals counted
// once; afterwards the triggers keep them, across puts, replacements with
// other sizes, deletes and forgotten blobs.
TEST_F(SqliteIndexTest, MigrationToVersion2CountsTotalsAndTriggersKeepThem) {
  {
    auto index = OpenOrDie();
    ASSERT_NE(index, nullptr);
    Entry a = MakeEntry("a", 1), b = MakeEntry("b", 2), c = MakeEntry("c", 3);
    c.ns = "other";
    c.size = 30;
    for (const Entry& e : {a, b, c}) ASSERT_TRUE(index->Put(e, e.size + 1, PutMode::kOverwrite).ok());
    ASSERT_TRUE(index->Flush().ok());
  }
  sqlite3* db = RawOpen();
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TRIGGER entries_totals_insert; DROP TRIGGER entries_totals_delete; "
                         "DROP TRIGGER entries_totals_update; DROP TRIGGER blobs_totals_insert; "
                         "DROP TRIGGER blobs_totals_delete; DROP TABLE ns_totals; DROP TABLE blob_totals; "
                         "DROP INDEX entries_by_hits; DROP INDEX entries_by_size; "
                         "PRAGMA user_version = 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto index = OpenOrDie();
  ASSERT_NE(index, nullptr);
  auto totals = index->GetTotals();
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->entries, 3u);
  EXPECT_EQ(totals->blobs, 3u);
  EXPECT_EQ(totals->stored_bytes, 11u + 11u + 31u);
  auto by_ns = index->StatsByNamespace();
  ASSERT_TRUE(by_ns.ok());
  ASSERT_EQ(by_ns->size(), 2u);
  EXPECT_EQ((*by_ns)[0].ns, "ns");
  EXPECT_EQ((*by_ns)[0].entries, 2u);
  EXPECT_EQ((*by_ns)[0].bytes, 20u);

  Entry bigger = MakeEntry("a", 4);  // replaces "a" with other bytes
  bigger.size = 100;
  ASSERT_TRUE(index->Put(bigger, 101, PutMode::kOverwrite).ok());
  ASSERT_TRUE(index->Delete("other", "c").ok());
  ASSERT_TRUE(index->Flush().ok());
  by_ns = index->StatsByNamespace();
  ASSERT_TRUE(by_ns.ok());
  ASSERT_EQ(by_ns->size(), 1u);  // "other" has no entries left: not listed
  EXPECT_EQ((*by_ns)[0].entries, 2u);
  EXPECT_EQ((*by_ns)[0].bytes, 110u);
  totals = index->GetTotals();
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->entries, 2u);
  EXPECT_EQ(totals->blobs, 4u);  // unreferenced blobs stay until garbage collection
  sqlite3* check = RawOpen();
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(check, "SELECT count(*), sum(stored_size) FROM blobs", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(static_cast<uint64_t>(sqlite3_column_int64(stmt, 0)), totals->blobs);
  EXPECT_EQ(static_cast<uint64_t>(sqlite3_column_int64(stmt, 1)), totals->stored_bytes);
  sqlite3_finalize(stmt);
  sqlite3_close(check);
}

TEST_F(SqliteIndexTest, OpenRefusesSchemaFromNewerVersion) {
  sqlite3* db = RawOpen();
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto opened = SqliteIndex::Open(path_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kInvalidArgument) << opened.status().ToString();
}

TEST_F(SqliteIndexTest, LockedDatabaseIsUnavailableAndFlushKeepsItsBatch) {
  SqliteIndex::Options options;
  options.busy_timeout_ms = 20;
  auto index = OpenOrDie(options);
  ASSERT_NE(index, nullptr);
  ASSERT_TRUE(index->Put(MakeEntry("k", 1), 1, PutMode::kOverwrite).ok());

  sqlite3* other = RawOpen();
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  Status put = index->Put(MakeEntry("k2", 2), 1, PutMode::kOverwrite).status();
  EXPECT_EQ(put.code(), Code::kUnavailable) << put.ToString();
  index->RecordAccess("ns", "k", 500);
  Status flush = index->Flush();
  EXPECT_EQ(flush.code(), Code::kUnavailable) << flush.ToString();
  index->RecordAccess("ns", "k", 400);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);

  // The failed batch was kept and merged with the later access.
  ASSERT_TRUE(index->Flush().ok());
  auto got = index->Get("ns", "k");
  EXPECT_EQ((*got)->hits, 2u);
  EXPECT_EQ((*got)->last_access_ms, 500);
  EXPECT_FALSE(index->Get("ns", "k2")->has_value());
  EXPECT_FALSE(*index->HasBlob(MakeEntry("k2", 2).digest));
}

TEST(SqliteStatusTest, MapsResultCodesToStatusCodes) {
  EXPECT_EQ(SqliteStatus(SQLITE_BUSY, "c", "d").code(), Code::kUnavailable);
  EXPECT_EQ(SqliteStatus(SQLITE_BUSY_SNAPSHOT, "c", "d").code(), Code::kUnavailable);
  EXPECT_EQ(SqliteStatus(SQLITE_LOCKED, "c", "d").code(), Code::kUnavailable);
  EXPECT_EQ(SqliteStatus(SQLITE_FULL, "c", "d").code(), Code::kResourceExhausted);
  EXPECT_EQ(SqliteStatus(SQLITE_CORRUPT, "c", "d").code(), Code::kCorruption);
  EXPECT_EQ(SqliteStatus(SQLITE_NOTADB, "c", "d").code(), Code::kCorruption);
  EXPECT_EQ(SqliteStatus(SQLITE_CONSTRAINT_CHECK, "c", "d").code(), Code::kInternal);
  EXPECT_EQ(SqliteStatus(SQLITE_IOERR_WRITE, "c", "d").code(), Code::kInternal);
  EXPECT_EQ(SqliteStatus(SQLITE_FULL, "insert x", "database or disk is full").message(),
            "insert x: database or disk is full (sqlite code 13)");
}

TEST(SqliteConnectionTest, FullDatabaseReportsResourceExhausted) {
  auto db = Connection::Open(":memory:");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (v TEXT)").ok());
  ASSERT_TRUE((*db)->Exec("PRAGMA max_page_count = 3").ok());
  Status full = (*db)->Exec("INSERT INTO t VALUES (zeroblob(100000))");
  EXPECT_EQ(full.code(), Code::kResourceExhausted) << full.ToString();
}

}  // namespace
}  // namespace cellar::index

namespace cellar::index {
namespace {

TEST(SqliteIndexExclusiveTest, SecondProcessStyleOpenIsRefused) {
  std::string path = ::testing::TempDir() + "/cellar-exclusive-" + std::to_string(::getpid()) + ".db";
  std::remove(path.c_str());
  SqliteIndex::Options options;
  options.exclusive = true;
  auto first = SqliteIndex::Open(path, options);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  Entry e;
  e.ns = "ns";
  e.key = "k";
  e.size = 1;
  ASSERT_TRUE((*first)->Put(e, 1, PutMode::kOverwrite).ok());
  ASSERT_TRUE((*first)->Get("ns", "k").ok());
  SqliteIndex::Options other;
  other.busy_timeout_ms = 50;
  auto second = SqliteIndex::Open(path, other);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace cellar::index
