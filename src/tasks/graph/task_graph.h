// The task graph of one `cellar run`: a node per package#task, edges from a
// task to the tasks that must finish first.
//
// Built from cellar.yml's pipeline, the workspace's packages and the tasks and
// package selection on the command line. Each package#task exists once
// however many paths reach it (a diamond's shared dependency runs once); a
// cycle is refused with the cycle spelled out. Packages that lack a task
// (no command and no package.json script of that name) are passed through:
// "^build" reaches the builds of their own dependencies. The rules are in
// docs/cellar-yml.md. Used by tasks/run (scheduling, hashing, --dry, --graph).
// Thread-safety: BuildTaskGraph is reentrant; a TaskGraph is an immutable value.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tasks/config/config.h"
#include "tasks/workspace/workspace.h"

namespace cellar::tasks {

struct TaskNode {
  std::string id;       // "package#task"
  std::string package;  // package name
  std::string task;
  std::string dir;      // the package's directory relative to the root ("." for the root)
  std::string command;  // run with sh -c in `dir`: the pipeline command, else "<pm> run <task>"
  TaskConfig definition;  // the pipeline entry that applies ("pkg#task" over "task")
  bool requested = false;  // named on the command line (not only reached as a dependency)
  std::vector<size_t> dependencies;  // indices into TaskGraph::nodes(), ascending
  std::vector<size_t> dependents;    // indices into TaskGraph::nodes(), ascending
};

class TaskGraph {
 public:
  TaskGraph() = default;
  explicit TaskGraph(std::vector<TaskNode> nodes);

  // Topological order: every node comes after all of its dependencies; ties
  // are broken by id so the order is the same on every machine.
  const std::vector<TaskNode>& nodes() const { return nodes_; }
  std::optional<size_t> IndexOf(std::string_view id) const;
  const TaskNode* Find(std::string_view id) const;
  bool empty() const { return nodes_.empty(); }

  // One line per node in topological order, its dependencies indented below.
  std::string RenderText() const;
  // Graphviz: an edge from each task to each task it depends on.
  std::string RenderDot() const;

 private:
  std::vector<TaskNode> nodes_;
  std::map<std::string, size_t, std::less<>> index_;  // id -> position in nodes_
};

// Which packages the requested tasks start from (dependencies outside the
// selection are still included in the graph).
struct TaskSelection {
  // --filter, repeatable: a package name, a directory ("apps/web", "./apps/web"),
  // a glob over names or directories ("@acme/*", "{apps/*}" for directories
  // only); "x..." adds x's dependencies, "...x" its dependents ("x^..." and
  // "...^x" without x itself); "!x" removes.
  std::vector<std::string> filters;
  // -p/--package (VelocityCache): exactly one package, by name or directory.
  std::optional<std::string> package;
};

// The selected packages, sorted by name. With no filter and no package: all.
// Fails when a filter or -p matches nothing (the message lists the packages).
Result<std::vector<const Package*>> SelectPackages(const Workspace& workspace, const TaskSelection& selection);

// `tasks` are pipeline task names ("build") or explicit nodes ("web#build").
// Fails on a task the pipeline does not define, a "pkg#task" naming an
// unknown package, or a cycle ("a#build -> b#build -> a#build"). A graph
// with no node (no selected package has the task) is not an error.
Result<TaskGraph> BuildTaskGraph(const Config& config, const Workspace& workspace,
                                 const std::vector<std::string>& tasks, const TaskSelection& selection);

}  // namespace cellar::tasks
