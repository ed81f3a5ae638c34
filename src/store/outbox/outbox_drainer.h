// OutboxDrainer: carries out an Outbox's records in the background, on
// threads of its own (never the server's I/O or worker threads: an upload
// can take minutes). Each record kind has a handler, registered by the
// component that appends that kind. Per record, a handler says:
//  - done: the record is removed;
//  - retry: the attempt failed (the bucket is down, throttling, a timeout);
//    the record waits, with exponential backoff and jitter (1 s doubling to
//    60 s by default), and nothing that depends on it starts meanwhile. A
//    failure also closes a gate for every record, with the same backoff,
//    until an attempt succeeds: with the bucket down, the drainer sends one
//    probe per backoff period instead of one request per record. Never
//    dropped, however long the outage;
//  - lost: the work can never be done (the blob's local copy is gone); the
//    record and those depending on it are removed, logged as errors and
//    counted. Does not happen unless the local disk lost data.
//
// Metrics (when given a registry): cellar_outbox_pending_records,
// cellar_outbox_oldest_pending_seconds, and
// cellar_outbox_records_total{kind, result} with result drained, failed (an
// attempt that will be retried) or lost. While records cannot drain, a
// warning with the backlog is logged at most once a minute.
//
// Thread-safety: SetHandler before Start/RunReady; the rest from any thread.
// The outbox and clock must outlive the drainer; handlers run on drainer
// threads, concurrently (Options::threads) for independent records.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "env/clock.h"
#include "metrics/metrics.h"
#include "store/outbox/outbox.h"

namespace cellar::outbox {

// What a handler made of a record.
struct Outcome {
  enum class Kind { kDone, kRetry, kLost };
  Kind kind = Kind::kDone;
  // kRetry and kLost: why. kDone: an optional note worth a log line (for
  // example "another node published this key first").
  Status status;

  static Outcome Done(Status note = Status()) { return {Kind::kDone, std::move(note)}; }
  static Outcome Retry(Status why) { return {Kind::kRetry, std::move(why)}; }
  static Outcome Lost(Status why) { return {Kind::kLost, std::move(why)}; }
};

class OutboxDrainer {
 public:
  using Handler = std::function<Outcome(const Record&)>;

  struct Options {
    int threads = 4;
    std::chrono::milliseconds min_backoff{1000};
    std::chrono::milliseconds max_backoff{60'000};
    // Least time between two "cannot drain" warnings.
    std::chrono::milliseconds stuck_log_interval{60'000};
    // Where the metrics go; may be null. Must outlive the drainer.
    metrics::Registry* registry = nullptr;
    // Uniform in [0, 1), for the jitter; default: a randomly seeded engine.
    std::function<double()> random;
  };

  OutboxDrainer(Outbox& outbox, const env::Clock& clock, Options options);
  // Stops the threads (Stop()).
  ~OutboxDrainer();

  // The handler for records of `kind`. A record of a kind without one is
  // retried (with backoff) until a version that knows it drains it.
  void SetHandler(std::string kind, Handler handler);
  // Starts the threads; records left by a previous run are drained first
  // (they come first in sequence order).
  void Start();
  // Wakes and joins the threads: attempts in progress finish (bounded by the
  // remote client's timeouts), then nothing more starts. Records stay on disk.
  void Stop();
  // Runs, on the calling thread, every record that may start now, until
  // none may (the outbox is empty, or the rest wait for a backoff). Returns
  // the number of attempts made. For tests and tools; Start() is the server's way.
  int RunReady();

 private:
  void Loop();
  // One attempt at `taken`, and what follows from its outcome.
  void Run(const Taken& taken);
  std::chrono::milliseconds Backoff(int failures);  // REQUIRES: mu_ held
  void OnSuccess();
  void OnFailure(const Record& record, const Status& why, TimePoint now);
  void Count(const std::string& kind, std::string_view result, uint64_t n = 1);

  Outbox& outbox_;
  const env::Clock& clock_;
  const Options options_;
  std::map<std::string, Handler> handlers_;  // set before Start, then read-only
  metrics::Family<metrics::Counter>* records_ = nullptr;
  // What the registry's collect hook reads: the registry may render after
  // the drainer is gone, so the destructor empties it.
  struct GaugeSource {
    std::mutex mu;
    Outbox* outbox = nullptr;               // GUARDED_BY(mu)
    const env::Clock* clock = nullptr;      // GUARDED_BY(mu)
  };
  std::shared_ptr<GaugeSource> gauges_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                   // GUARDED_BY(mu_)
  uint64_t generation_ = 0;                 // GUARDED_BY(mu_): bumped when work may have appeared
  int consecutive_failures_ = 0;            // GUARDED_BY(mu_)
  TimePoint gate_until_{};                  // GUARDED_BY(mu_): no record starts before this
  TimePoint last_stuck_log_{};              // GUARDED_BY(mu_)
  bool stuck_logged_ = false;               // GUARDED_BY(mu_)
  std::mt19937_64 engine_;                  // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace cellar::outbox
