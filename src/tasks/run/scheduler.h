// Scheduler: runs a DAG of nodes with a bounded number of them in flight.
// The task runner hands it one node per task (edges = "must succeed first")
// and a callback that does the node's work (restore from a cache, or run the
// command and store the result). Each node runs at most once however many
// paths lead to it, so a diamond's shared dependency runs once.
//
// Rules: a node starts when every dependency has succeeded; a failed node
// fails the run and its dependents (transitively) are skipped. Without
// keep_going no new node starts after the first failure (running ones
// finish); with keep_going, branches that do not depend on the failure go on.
// Stop() (a signal) starts nothing new; running nodes finish.
// Thread-safety: Run() once from one thread; the callback is called on worker
// threads, up to `concurrency` at a time; Stop() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"

namespace cellar::tasks {

struct ScheduleNode {
  std::string id;             // for messages (a cycle names its nodes)
  std::vector<size_t> deps;   // indices of the nodes that must succeed first
};

enum class NodeOutcome {
  kNotRun,     // the run stopped (first failure without keep_going, or Stop()) first
  kSucceeded,
  kFailed,
  kSkipped,    // a dependency failed or was skipped
};
std::string_view NodeOutcomeName(NodeOutcome outcome);

struct SchedulerOptions {
  size_t concurrency = 0;  // 0: the number of cores
  bool keep_going = false;  // --continue
};

class Scheduler {
 public:
  // Returns true when the node succeeded. Must not throw (a throw counts as
  // a failure).
  using Work = std::function<bool(size_t node)>;

  Scheduler(std::vector<ScheduleNode> nodes, SchedulerOptions options);

  // kInvalidArgument when an edge names a missing node or the edges form a
  // cycle (the message lists the cycle: "a -> b -> a").
  static Status Validate(const std::vector<ScheduleNode>& nodes);

  // Runs every node it can; one outcome per node, in node order.
  Result<std::vector<NodeOutcome>> Run(const Work& work);
  void Stop();

  size_t concurrency() const { return concurrency_; }

 private:
  void WorkerLoop(const Work& work);
  // REQUIRES: mu_ held. Marks everything downstream of `node` skipped.
  void SkipDependents(size_t node);
  // REQUIRES: mu_ held. True when no worker will get another node.
  bool Finished() const;

  const std::vector<ScheduleNode> nodes_;
  std::vector<std::vector<size_t>> dependents_;
  const size_t concurrency_;
  const bool keep_going_;

  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::vector<NodeOutcome> outcomes_;
  std::vector<size_t> waiting_on_;  // dependencies not yet succeeded
  std::vector<size_t> ready_;       // stack of startable nodes
  size_t running_ = 0;
  bool failed_ = false;
  std::atomic<bool> stopped_{false};
};

}  // namespace cellar::tasks
