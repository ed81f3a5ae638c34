// BuildTaskGraph: expand the requested tasks through depends_on, refuse
// cycles, then drop the pass-through nodes of packages that lack a task.
#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "tasks/graph/task_graph.h"

namespace cellar::tasks {

namespace {

// A node before pass-through nodes are removed.
struct RawNode {
  const Package* package;
  std::string task;
  const TaskConfig* definition;
  std::optional<std::string> command;  // nullopt: the package lacks the task (pass-through)
  bool requested = false;
  std::set<std::string> deps;  // ids
};

class Builder {
 public:
  Builder(const Config& config, const Workspace& ws) : config_(config), ws_(ws) {}

  // The node for package#task, created (with its dependencies) on first use.
  // nullopt when the pipeline has no definition that applies to the package.
  Result<std::optional<std::string>> Ensure(const Package& package, const std::string& task);
  Status RefuseCycles() const;
  TaskGraph Finish() const;
  std::map<std::string, RawNode>& nodes() { return nodes_; }

 private:
  // REQUIRES: `node` is an element of nodes_ (std::map keeps it in place while Ensure inserts).
  Status AddDependency(RawNode& node, const std::string& id, const std::string& ref);

  const Config& config_;
  const Workspace& ws_;
  std::map<std::string, RawNode> nodes_;  // by id
};

std::string NodeId(const Package& p, std::string_view task) { return p.name + "#" + std::string(task); }

Result<std::optional<std::string>> Builder::Ensure(const Package& package, const std::string& task) {
  std::string id = NodeId(package, task);
  if (nodes_.count(id)) return std::optional<std::string>(id);
  const TaskConfig* def = config_.Find(package.name, task);
  if (def == nullptr) return std::optional<std::string>();
  RawNode node{&package, task, def, def->command, false, {}};
  if (!node.command) {
    if (package.scripts.count(task)) node.command = ws_.ScriptCommand(task);
  }
  nodes_.emplace(id, node);  // before the dependencies, so a cycle finds it instead of recursing forever
  for (const std::string& ref : def->depends_on) {
    CELLAR_RETURN_IF_ERROR(AddDependency(nodes_.at(id), id, ref));
  }
  return std::optional<std::string>(id);
}

Status Builder::AddDependency(RawNode& node, const std::string& id, const std::string& ref) {
  const Package& self = *node.package;
  auto add = [&](const Package& p, const std::string& task) -> Result<bool> {
    auto dep = Ensure(p, task);
    if (!dep.ok()) return dep.error();
    if (!dep->has_value()) return false;
    node.deps.insert(**dep);
    return true;
  };
  if (ref.starts_with("^")) {
    std::string task = ref.substr(1);
    for (const std::string& name : self.dependencies) {
      auto added = add(*ws_.Find(name), task);
      if (!added.ok()) return added.error();
    }
    return Status();
  }
  if (size_t hash = ref.rfind('#'); hash != std::string::npos) {
    std::string pkg = ref.substr(0, hash), task = ref.substr(hash + 1);
    const Package* target = ws_.Find(pkg);
    if (target == nullptr) {
      return Status::InvalidArgument(id + " depends on \"" + ref + "\" but there is no package named \"" + pkg + "\"");
    }
    auto added = add(*target, task);
    if (!added.ok()) return added.error();
    if (!*added) {
      return Status::InvalidArgument(id + " depends on \"" + ref + "\" but the pipeline has no \"" + task +
                                     "\" for package \"" + pkg + "\"");
    }
    return Status();
  }
  auto added = add(self, ref);
  return added.ok() ? Status() : added.error();
}

Status Builder::RefuseCycles() const {
  enum Color { kWhite, kGray, kBlack };
  std::map<std::string, Color> color;
  std::vector<std::string> path;
  std::function<Status(const std::string&)> visit = [&](const std::string& id) -> Status {
    color[id] = kGray;
    path.push_back(id);
    for (const std::string& dep : nodes_.at(id).deps) {
      if (color[dep] == kGray) {
        std::string cycle;
        auto start = std::find(path.begin(), path.end(), dep);
        for (auto it = start; it != path.end(); ++it) cycle += *it + " -> ";
        return Status::InvalidArgument("task dependency cycle: " + cycle + dep);
      }
      if (color[dep] == kWhite) CELLAR_RETURN_IF_ERROR(visit(dep));
    }
    path.pop_back();
    color[id] = kBlack;
    return Status();
  };
  for (const auto& [id, unused] : nodes_) {
    if (color[id] == kWhite) CELLAR_RETURN_IF_ERROR(visit(id));
  }
  return Status();
}

TaskGraph Builder::Finish() const {
  // The runnable tasks each node stands for: itself, or through a pass-through
  // node, the runnable tasks beneath it. Acyclic, so memoised recursion ends.
  std::map<std::string, std::set<std::string>> runnable_deps;
  std::function<const std::set<std::string>&(const std::string&)> resolve =
      [&](const std::string& id) -> const std::set<std::string>& {
    if (auto it = runnable_deps.find(id); it != runnable_deps.end()) return it->second;
    std::set<std::string> out;
    for (const std::string& dep : nodes_.at(id).deps) {
      if (nodes_.at(dep).command) {
        out.insert(dep);
      } else {
        const auto& through = resolve(dep);
        out.insert(through.begin(), through.end());
      }
    }
    return runnable_deps[id] = std::move(out);
  };
  std::vector<TaskNode> nodes;
  std::map<std::string, std::set<std::string>> deps_by_id;
  for (const auto& [id, raw] : nodes_) {
    if (!raw.command) continue;
    TaskNode n;
    n.id = id;
    n.package = raw.package->name;
    n.task = raw.task;
    n.dir = raw.package->dir;
    n.command = *raw.command;
    n.definition = *raw.definition;
    n.requested = raw.requested;
    nodes.push_back(std::move(n));
    deps_by_id[id] = resolve(id);
  }
  // Kahn's algorithm, smallest id first among the ready nodes.
  std::map<std::string, size_t> waiting;
  std::map<std::string, std::vector<std::string>> dependents;
  std::set<std::string> ready;
  for (const auto& [id, deps] : deps_by_id) {
    waiting[id] = deps.size();
    for (const std::string& d : deps) dependents[d].push_back(id);
    if (deps.empty()) ready.insert(id);
  }
  std::map<std::string, TaskNode> by_id;
  for (TaskNode& n : nodes) by_id.emplace(n.id, std::move(n));
  std::vector<TaskNode> ordered;
  std::map<std::string, size_t> index;
  while (!ready.empty()) {
    std::string id = *ready.begin();
    ready.erase(ready.begin());
    index[id] = ordered.size();
    ordered.push_back(std::move(by_id.at(id)));
    for (const std::string& next : dependents[id]) {
      if (--waiting[next] == 0) ready.insert(next);
    }
  }
  for (TaskNode& n : ordered) {
    for (const std::string& d : deps_by_id[n.id]) n.dependencies.push_back(index.at(d));
    std::sort(n.dependencies.begin(), n.dependencies.end());
  }
  for (size_t i = 0; i < ordered.size(); ++i) {
    for (size_t d : ordered[i].dependencies) ordered[d].dependents.push_back(i);
  }
  return TaskGraph(std::move(ordered));
}

std::string DefinedTasks(const Config& config) {
  std::string out;
  for (const auto& [key, unused] : config.pipeline) out += (out.empty() ? "" : ", ") + key;
  return out.empty() ? "none" : out;
}

}  // namespace

Result<TaskGraph> BuildTaskGraph(const Config& config, const Workspace& ws, const std::vector<std::string>& tasks,
                                 const TaskSelection& selection) {
  auto selected = SelectPackages(ws, selection);
  if (!selected.ok()) return selected.error();
  Builder builder(config, ws);
  const std::string file = config.path.empty() ? std::string(kConfigFileName) : config.path;
  for (const std::string& requested : tasks) {
    std::vector<const Package*> packages = *selected;
    std::string task = requested;
    if (size_t hash = requested.rfind('#'); hash != std::string::npos) {
      const Package* p = ws.Find(requested.substr(0, hash));
      if (p == nullptr) return Status::InvalidArgument("no package named \"" + requested.substr(0, hash) + "\"");
      packages = {p};
      task = requested.substr(hash + 1);
    }
    if (!config.DefinesTask(task)) {
      return Status::InvalidArgument("task \"" + task + "\" is not in the pipeline of " + file +
                                     " (tasks: " + DefinedTasks(config) + ")");
    }
    for (const Package* p : packages) {
      auto id = builder.Ensure(*p, task);
      if (!id.ok()) return id.error();
      if (id->has_value()) builder.nodes().at(**id).requested = true;
    }
  }
  CELLAR_RETURN_IF_ERROR(builder.RefuseCycles());
  return builder.Finish();
}

}  // namespace cellar::tasks
