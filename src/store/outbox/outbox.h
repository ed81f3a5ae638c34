// Outbox: a durable, ordered list of work still to be done against a remote
// store, kept in a directory of its own (`<data-dir>/outbox/` with
// `cellar serve --s3-upload=async`). With it, a write is acknowledged once
// its bytes are on local disk and a record of what remains ("upload blob D",
// "publish entry K") is durable here; an OutboxDrainer (outbox_drainer.h)
// carries the records out later, with retries, and removes each one only
// when its work is done. Records survive crashes and restarts and are never
// dropped silently. Format and guarantees: docs/tiered-storage.md,
// "Asynchronous uploads".
//
// One file per record, named by its sequence number (`<20 digits>.rec`),
// written to a temporary name, fsynced, renamed and the directory fsynced
// before Append() returns, so a record that Append() reported is on disk and
// a file under a final name is always whole. Open() reloads every record in
// sequence order; a file that fails its checksum is moved to `bad/` and
// reported, never deleted. The records also live in memory (they are small:
// a digest, or an index entry).
//
// Ordering: a record starts only when every earlier record whose subject
// it lists in `after` has completed (record.h); records that do not depend
// on each other run concurrently.
//
// Thread-safety: every method may be called concurrently (one mutex; file
// I/O runs outside it). Append() blocks on fsync: call it from worker
// threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "env/clock.h"
#include "store/fs_io.h"
#include "store/outbox/record.h"

namespace cellar::outbox {

using TimePoint = std::chrono::steady_clock::time_point;

// A record handed to a drainer, with the number of its failed attempts.
struct Taken {
  Record record;
  int failures = 0;
};

class Outbox {
 public:
  struct Options {
    std::string dir;  // created if missing
    // Test seam for failed writes and syncs; may be null. Must outlive the outbox.
    const store::FaultInjector* faults = nullptr;
  };

  // Opens (creating) the directory and loads the records left in it.
  // Errors: the directory cannot be created or listed. `clock` stamps
  // records (created_ms) and must outlive the outbox.
  static Result<std::unique_ptr<Outbox>> Open(Options options, const env::Clock& clock);
  ~Outbox();

  // Makes `record` durable (kind, subject, after and payload are kept; seq
  // and created_ms are assigned). On success the record is on disk and will
  // be handed to a drainer; on failure nothing was recorded (the error is
  // the file system's: kResourceExhausted for a full disk).
  Status Append(Record record);

  // True while a record with this subject is pending (not yet completed;
  // in flight counts as pending). No I/O.
  bool HasPending(std::string_view subject) const;
  // The most recent pending record with this subject, or nullopt. No I/O.
  std::optional<Record> LatestPending(std::string_view subject) const;
  // Runs `fn` while no record whose subject or `after` names `subject` is
  // in flight or may start: waits for those in flight to finish, holds the
  // others back until `fn` returns, and returns what `fn` returns. Used to
  // withdraw an entry without a publish of it landing afterwards.
  Status WithSubjectHeld(const std::string& subject, const std::function<Status()>& fn);
  // Removes every pending record with this subject that is not in flight
  // (call it inside WithSubjectHeld to cover those too). Errors: a file
  // could not be removed (the record is forgotten in memory regardless; the
  // file would be drained again after a restart, which every kind allows).
  Status DropPending(std::string_view subject);

  // Records pending, and the creation time of the oldest (nullopt when empty).
  size_t size() const;
  std::optional<int64_t> OldestCreatedMs() const;
  // Files Open() found damaged and moved to `bad/`.
  size_t bad_files() const { return bad_files_; }
  const std::string& dir() const { return options_.dir; }

  // --- For drainers -------------------------------------------------------
  // The earliest record that may start at `now`, marked in flight; nullopt
  // when none may (empty, all waiting for earlier ones, retrying later,
  // held, or in flight already).
  std::optional<Taken> Take(TimePoint now);
  // The taken record's work is done: it is removed (memory and file).
  Status Complete(uint64_t seq);
  // The taken record's attempt failed: it may be taken again from `not_before`.
  void Release(uint64_t seq, TimePoint not_before);
  // The taken record can never be done (its local data is gone): it is
  // removed, and so are the later records that list its subject in `after`,
  // up to the next record with the same subject (their work depended on
  // it). Returns those others. Used for losses that are logged and counted.
  std::vector<Record> GiveUp(uint64_t seq);
  // Called (without locks held) after each Append and each Release, e.g. to
  // wake a drainer. Set before records are appended.
  void SetOnChange(std::function<void()> fn);

 private:
  struct Slot {
    Record record;
    bool in_flight = false;
    int failures = 0;
    TimePoint not_before{};
  };

  Outbox(Options options, const env::Clock& clock);
  Status Load();
  std::string PathOf(uint64_t seq, std::string_view suffix) const;
  // REQUIRES: mu_ held.
  bool MayStart(const Slot& slot, TimePoint now) const;
  bool Mentions(const Record& record, const std::string& subject) const;
  bool AnyInFlightMentions(const std::string& subject) const;
  void Forget(std::map<uint64_t, Slot>::iterator it);  // REQUIRES: mu_ held
  Status RemoveFile(uint64_t seq) const;
  void NotifyChange();  // REQUIRES: mu_ not held

  const Options options_;
  const env::Clock& clock_;
  size_t bad_files_ = 0;  // set by Load(), then constant

  mutable std::mutex mu_;
  std::condition_variable released_cv_;  // a record stopped being in flight
  uint64_t next_seq_ = 1;                                          // GUARDED_BY(mu_)
  std::map<uint64_t, Slot> records_;                               // GUARDED_BY(mu_), by seq
  std::map<std::string, std::set<uint64_t>, std::less<>> by_subject_;  // GUARDED_BY(mu_)
  std::set<uint64_t> in_flight_;                                   // GUARDED_BY(mu_)
  std::multiset<std::string> held_;                                // GUARDED_BY(mu_)
  std::function<void()> on_change_;                                // GUARDED_BY(mu_); called without it
};

}  // namespace cellar::outbox
