#include "tasks/run/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace cellar::tasks {
namespace {

// Builds nodes from "id: dep dep" lines so each graph reads like a spec.
std::vector<ScheduleNode> Graph(const std::vector<std::pair<std::string, std::vector<std::string>>>& spec) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < spec.size(); ++i) index[spec[i].first] = i;
  std::vector<ScheduleNode> nodes;
  for (const auto& [id, deps] : spec) {
    ScheduleNode node{id, {}};
    for (const auto& d : deps) node.deps.push_back(index.at(d));
    nodes.push_back(node);
  }
  return nodes;
}

// Fake work: counts calls per node, records the order of starts and the
// largest number of nodes in flight at once, fails the nodes named in `fail`.
struct FakeWork {
  std::vector<ScheduleNode> nodes;
  std::set<std::string> fail;
  std::chrono::milliseconds hold{0};
  std::mutex mu;
  std::map<std::string, int> calls;
  std::vector<std::string> order;
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};

  Scheduler::Work Fn() {
    return [this](size_t n) {
      int now = ++in_flight;
      int seen = max_in_flight.load();
      while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        ++calls[nodes[n].id];
        order.push_back(nodes[n].id);
      }
      std::this_thread::sleep_for(hold);
      --in_flight;
      return fail.count(nodes[n].id) == 0;
    };
  }
  size_t Position(const std::string& id) {
    return static_cast<size_t>(std::find(order.begin(), order.end(), id) - order.begin());
  }
};

std::map<std::string, NodeOutcome> Outcomes(const std::vector<ScheduleNode>& nodes,
                                            const std::vector<NodeOutcome>& outcomes) {
  std::map<std::string, NodeOutcome> m;
  for (size_t i = 0; i < nodes.size(); ++i) m[nodes[i].id] = outcomes[i];
  return m;
}

TEST(SchedulerTest, DiamondRunsSharedNodeOnceAndAfterItsDependencies) {
  FakeWork w;
  w.nodes = Graph({{"app", {"lib-a", "lib-b"}}, {"lib-a", {"core"}}, {"lib-b", {"core"}}, {"core", {}}});
  Scheduler s(w.nodes, {.concurrency = 4});
  auto out = s.Run(w.Fn());
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(w.calls["core"], 1);
  EXPECT_EQ(w.calls["app"], 1);
  EXPECT_EQ(w.order.size(), 4u);
  EXPECT_LT(w.Position("core"), w.Position("lib-a"));
  EXPECT_LT(w.Position("core"), w.Position("lib-b"));
  EXPECT_LT(w.Position("lib-a"), w.Position("app"));
  EXPECT_LT(w.Position("lib-b"), w.Position("app"));
  for (auto outcome : *out) EXPECT_EQ(outcome, NodeOutcome::kSucceeded);
}

TEST(SchedulerTest, ConcurrencyLimitIsRespectedAndReached) {
  FakeWork w;
  std::vector<std::pair<std::string, std::vector<std::string>>> spec;
  for (int i = 0; i < 12; ++i) spec.push_back({"t" + std::to_string(i), {}});
  w.nodes = Graph(spec);
  w.hold = std::chrono::milliseconds(20);
  Scheduler s(w.nodes, {.concurrency = 3});
  ASSERT_TRUE(s.Run(w.Fn()).ok());
  EXPECT_EQ(w.max_in_flight.load(), 3);
  EXPECT_EQ(w.order.size(), 12u);
}

TEST(SchedulerTest, ConcurrencyOneRunsNodesOneAtATime) {
  FakeWork w;
  w.nodes = Graph({{"a", {}}, {"b", {}}, {"c", {"a"}}, {"d", {}}});
  w.hold = std::chrono::milliseconds(5);
  Scheduler s(w.nodes, {.concurrency = 1});
  ASSERT_TRUE(s.Run(w.Fn()).ok());
  EXPECT_EQ(w.max_in_flight.load(), 1);
  EXPECT_EQ(w.order.size(), 4u);
}

TEST(SchedulerTest, DefaultConcurrencyIsTheNumberOfCores) {
  Scheduler s({}, {});
  EXPECT_EQ(s.concurrency(), std::max(1u, std::thread::hardware_concurrency()));
}

TEST(SchedulerTest, FailureSkipsDependentsAndStopsNewWork) {
  FakeWork w;
  // concurrency 1 makes the order deterministic: a (fails) before b.
  w.nodes = Graph({{"a", {}}, {"b", {}}, {"a2", {"a"}}, {"a3", {"a2"}}});
  w.fail = {"a"};
  Scheduler s(w.nodes, {.concurrency = 1});
  auto out = s.Run(w.Fn());
  ASSERT_TRUE(out.ok());
  auto m = Outcomes(w.nodes, *out);
  EXPECT_EQ(m["a"], NodeOutcome::kFailed);
  EXPECT_EQ(m["a2"], NodeOutcome::kSkipped);
  EXPECT_EQ(m["a3"], NodeOutcome::kSkipped);
  EXPECT_EQ(m["b"], NodeOutcome::kNotRun);
  EXPECT_EQ(w.calls.count("b"), 0u);
}

TEST(SchedulerTest, RunningNodesFinishAfterAFailure) {
  FakeWork w;
  w.nodes = Graph({{"fast-fail", {}}, {"slow", {}}, {"after-slow", {"slow"}}});
  w.fail = {"fast-fail"};
  std::atomic<bool> slow_started{false};
  std::atomic<bool> slow_done{false};
  auto inner = w.Fn();
  Scheduler s(w.nodes, {.concurrency = 2, .keep_going = false});
  auto out = s.Run([&](size_t n) {
    if (w.nodes[n].id == "slow") {
      slow_started = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      slow_done = true;
    } else {
      while (!slow_started) std::this_thread::yield();  // fail while "slow" is running
    }
    return inner(n);
  });
  ASSERT_TRUE(out.ok());
  auto m = Outcomes(w.nodes, *out);
  EXPECT_TRUE(slow_done);
  EXPECT_EQ(m["slow"], NodeOutcome::kSucceeded);
  EXPECT_EQ(m["fast-fail"], NodeOutcome::kFailed);
  // Its dependency succeeded, but the run had already failed.
  EXPECT_EQ(m["after-slow"], NodeOutcome::kNotRun);
}

TEST(SchedulerTest, KeepGoingRunsIndependentBranches) {
  FakeWork w;
  w.nodes = Graph({{"core", {}}, {"lib-a", {"core"}}, {"app", {"lib-a", "other"}}, {"other", {}},
                   {"other2", {"other"}}, {"x", {"fails"}}, {"fails", {}}});
  w.fail = {"core"};
  Scheduler s(w.nodes, {.concurrency = 1, .keep_going = true});
  auto out = s.Run(w.Fn());
  ASSERT_TRUE(out.ok());
  auto m = Outcomes(w.nodes, *out);
  EXPECT_EQ(m["core"], NodeOutcome::kFailed);
  EXPECT_EQ(m["lib-a"], NodeOutcome::kSkipped);
  EXPECT_EQ(m["app"], NodeOutcome::kSkipped);
  EXPECT_EQ(m["other"], NodeOutcome::kSucceeded);
  EXPECT_EQ(m["other2"], NodeOutcome::kSucceeded);
  EXPECT_EQ(m["fails"], NodeOutcome::kSucceeded);  // only core was scripted to fail
  EXPECT_EQ(m["x"], NodeOutcome::kSucceeded);
  EXPECT_EQ(w.calls.count("app"), 0u);
}

TEST(SchedulerTest, StopStartsNothingNew) {
  FakeWork w;
  w.nodes = Graph({{"a", {}}, {"b", {"a"}}, {"c", {"b"}}});
  Scheduler s(w.nodes, {.concurrency = 2});
  auto inner = w.Fn();
  auto out = s.Run([&](size_t n) {
    if (w.nodes[n].id == "a") s.Stop();  // as the signal thread would, mid-run
    return inner(n);
  });
  ASSERT_TRUE(out.ok());
  auto m = Outcomes(w.nodes, *out);
  EXPECT_EQ(m["a"], NodeOutcome::kSucceeded);
  EXPECT_EQ(m["b"], NodeOutcome::kNotRun);
  EXPECT_EQ(m["c"], NodeOutcome::kNotRun);
}

TEST(SchedulerTest, CycleIsRefusedWithItsPath) {
  auto nodes = Graph({{"a", {"b"}}, {"b", {"c"}}, {"c", {"a"}}, {"d", {}}});
  Status s = Scheduler::Validate(nodes);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("a -> c -> b -> a"), std::string::npos) << s.message();
  Scheduler sched(nodes, {});
  int calls = 0;
  EXPECT_FALSE(sched.Run([&](size_t) { return ++calls > 0; }).ok());
  EXPECT_EQ(calls, 0);
}

TEST(SchedulerTest, ThrowingWorkCountsAsAFailure) {
  auto nodes = Graph({{"a", {}}, {"b", {"a"}}});
  Scheduler s(nodes, {.concurrency = 1});
  auto out = s.Run([](size_t n) -> bool {
    if (n == 0) throw std::runtime_error("boom");
    return true;
  });
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)[0], NodeOutcome::kFailed);
  EXPECT_EQ((*out)[1], NodeOutcome::kSkipped);
}

TEST(SchedulerTest, EmptyGraphSucceeds) {
  Scheduler s({}, {.concurrency = 2});
  auto out = s.Run([](size_t) { return true; });
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->empty());
}

}  // namespace
}  // namespace cellar::tasks
