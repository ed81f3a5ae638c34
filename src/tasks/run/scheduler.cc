#include "tasks/run/scheduler.h"

#include <algorithm>
#include <thread>

namespace cellar::tasks {

std::string_view NodeOutcomeName(NodeOutcome outcome) {
  switch (outcome) {
    case NodeOutcome::kNotRun: return "not run";
    case NodeOutcome::kSucceeded: return "succeeded";
    case NodeOutcome::kFailed: return "failed";
    case NodeOutcome::kSkipped: return "skipped";
  }
  return "?";
}

namespace {

size_t DefaultConcurrency(size_t requested) {
  if (requested > 0) return requested;
  unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? cores : 1;
}

// Depth-first search for a cycle; returns its nodes in order, first repeated last.
std::vector<size_t> FindCycle(const std::vector<ScheduleNode>& nodes) {
  enum Mark { kWhite, kGrey, kBlack };
  std::vector<Mark> mark(nodes.size(), kWhite);
  std::vector<size_t> path;
  std::vector<size_t> cycle;
  std::function<bool(size_t)> visit = [&](size_t n) {
    mark[n] = kGrey;
    path.push_back(n);
    for (size_t d : nodes[n].deps) {
      if (mark[d] == kGrey) {
        auto start = std::find(path.begin(), path.end(), d);
        cycle.assign(start, path.end());
        cycle.push_back(d);
        return true;
      }
      if (mark[d] == kWhite && visit(d)) return true;
    }
    path.pop_back();
    mark[n] = kBlack;
    return false;
  };
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (mark[n] == kWhite && visit(n)) return cycle;
  }
  return {};
}

}  // namespace

Scheduler::Scheduler(std::vector<ScheduleNode> nodes, SchedulerOptions options)
    : nodes_(std::move(nodes)),
      dependents_(nodes_.size()),
      concurrency_(DefaultConcurrency(options.concurrency)),
      keep_going_(options.keep_going) {}

Status Scheduler::Validate(const std::vector<ScheduleNode>& nodes) {
  for (const auto& node : nodes) {
    for (size_t d : node.deps) {
      if (d >= nodes.size()) return Status::InvalidArgument(node.id + " depends on a node that does not exist");
    }
  }
  std::vector<size_t> cycle = FindCycle(nodes);
  if (cycle.empty()) return Status::Ok();
  // Edges point at dependencies; print the cycle in "runs before" order.
  std::string text;
  for (auto it = cycle.rbegin(); it != cycle.rend(); ++it) {
    if (!text.empty()) text += " -> ";
    text += nodes[*it].id;
  }
  return Status::InvalidArgument("dependency cycle: " + text);
}

Result<std::vector<NodeOutcome>> Scheduler::Run(const Work& work) {
  CELLAR_RETURN_IF_ERROR(Validate(nodes_));
  {
    std::lock_guard<std::mutex> lock(mu_);
    outcomes_.assign(nodes_.size(), NodeOutcome::kNotRun);
    waiting_on_.assign(nodes_.size(), 0);
    for (size_t n = 0; n < nodes_.size(); ++n) {
      // A dependency listed twice still counts once.
      std::vector<size_t> deps = nodes_[n].deps;
      std::sort(deps.begin(), deps.end());
      deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
      waiting_on_[n] = deps.size();
      for (size_t d : deps) dependents_[d].push_back(n);
    }
    // Reversed so that the stack hands out low indices (the caller's order) first.
    for (size_t n = nodes_.size(); n-- > 0;) {
      if (waiting_on_[n] == 0) ready_.push_back(n);
    }
  }
  size_t workers = std::min(concurrency_, std::max<size_t>(nodes_.size(), 1));
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (size_t i = 0; i < workers; ++i) threads.emplace_back([this, &work] { WorkerLoop(work); });
  for (auto& t : threads) t.join();
  std::lock_guard<std::mutex> lock(mu_);
  return outcomes_;
}

void Scheduler::Stop() {
  stopped_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

bool Scheduler::Finished() const {
  bool can_start = !ready_.empty() && !stopped_ && (keep_going_ || !failed_);
  return !can_start && running_ == 0;
}

void Scheduler::SkipDependents(size_t node) {
  std::vector<size_t> stack = {node};
  while (!stack.empty()) {
    size_t n = stack.back();
    stack.pop_back();
    for (size_t d : dependents_[n]) {
      if (outcomes_[d] != NodeOutcome::kNotRun) continue;
      outcomes_[d] = NodeOutcome::kSkipped;
      stack.push_back(d);
    }
  }
}

void Scheduler::WorkerLoop(const Work& work) {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] {
      bool can_start = !ready_.empty() && !stopped_ && (keep_going_ || !failed_);
      return can_start || Finished();
    });
    if (Finished()) {
      cv_.notify_all();
      return;
    }
    size_t node = ready_.back();
    ready_.pop_back();
    ++running_;
    lock.unlock();
    bool ok = false;
    try {
      ok = work(node);
    } catch (...) {
      ok = false;
    }
    lock.lock();
    --running_;
    outcomes_[node] = ok ? NodeOutcome::kSucceeded : NodeOutcome::kFailed;
    if (ok) {
      for (size_t d : dependents_[node]) {
        if (--waiting_on_[d] == 0 && outcomes_[d] == NodeOutcome::kNotRun) ready_.push_back(d);
      }
    } else {
      failed_ = true;
      SkipDependents(node);
    }
    cv_.notify_all();
  }
}

}  // namespace cellar::tasks
