// TaskGraph lookups and its text and Graphviz renderings (--graph).
#include "tasks/graph/task_graph.h"

namespace cellar::tasks {

namespace {

std::string DotQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

TaskGraph::TaskGraph(std::vector<TaskNode> nodes) : nodes_(std::move(nodes)) {
  for (size_t i = 0; i < nodes_.size(); ++i) index_.emplace(nodes_[i].id, i);
}

std::optional<size_t> TaskGraph::IndexOf(std::string_view id) const {
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

const TaskNode* TaskGraph::Find(std::string_view id) const {
  auto i = IndexOf(id);
  return i ? &nodes_[*i] : nullptr;
}

std::string TaskGraph::RenderText() const {
  std::string out;
  for (const TaskNode& n : nodes_) {
    out += n.id + "  (" + n.command + " in " + n.dir + ")\n";
    for (size_t d : n.dependencies) out += "  depends on " + nodes_[d].id + "\n";
  }
  return out;
}

std::string TaskGraph::RenderDot() const {
  std::string out = "digraph tasks {\n";
  for (const TaskNode& n : nodes_) {
    if (n.dependencies.empty()) out += "  " + DotQuote(n.id) + ";\n";
    for (size_t d : n.dependencies) out += "  " + DotQuote(n.id) + " -> " + DotQuote(nodes_[d].id) + ";\n";
  }
  return out + "}\n";
}

}  // namespace cellar::tasks
