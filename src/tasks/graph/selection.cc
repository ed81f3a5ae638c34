// SelectPackages: --filter and -p/--package against the workspace's packages.
#include <map>
#include <set>

#include "glob/glob.h"
#include "tasks/graph/task_graph.h"

namespace cellar::tasks {

namespace {

struct Filter {
  bool exclude = false;
  bool dependencies = false;  // "x..."
  bool dependents = false;    // "...x"
  bool include_self = true;   // false for "x^..." / "...^x"
  bool dirs_only = false;     // "{apps/*}"
  std::string core;
};

Filter ParseFilter(std::string_view text) {
  Filter f;
  if (text.starts_with("!")) {
    f.exclude = true;
    text.remove_prefix(1);
  }
  if (text.starts_with("...")) {
    f.dependents = true;
    text.remove_prefix(3);
    if (text.starts_with("^")) {
      f.include_self = false;
      text.remove_prefix(1);
    }
  }
  if (text.ends_with("...")) {
    f.dependencies = true;
    text.remove_suffix(3);
    if (text.ends_with("^")) {
      f.include_self = false;
      text.remove_suffix(1);
    }
  }
  if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
    f.dirs_only = true;
    text = text.substr(1, text.size() - 2);
  }
  f.core = std::string(text);
  return f;
}

std::string Available(const Workspace& ws) {
  std::string out;
  for (const Package& p : ws.packages) {
    if (!out.empty()) out += ", ";
    out += p.name == p.dir ? p.name : p.name + " (" + p.dir + ")";
  }
  return out;
}

// The packages the core of a filter names: exact name or directory first, then a glob.
Result<std::set<const Package*>> MatchCore(const Workspace& ws, const Filter& f) {
  std::set<const Package*> out;
  if (!f.dirs_only) {
    if (const Package* p = ws.FindByNameOrDir(f.core)) return std::set<const Package*>{p};
  }
  std::string_view dir_glob = f.core;
  if (dir_glob.starts_with("./")) dir_glob.remove_prefix(2);
  auto pattern = glob::Pattern::Parse(dir_glob);
  if (!pattern.ok()) return pattern.error().WithContext("--filter " + f.core);
  for (const Package& p : ws.packages) {
    if (pattern->Matches(p.dir) || (!f.dirs_only && pattern->Matches(p.name))) out.insert(&p);
  }
  return out;
}

// Adds everything reachable from `start` along `edges` (name -> names).
void AddReachable(const Workspace& ws, const Package* start, const std::map<std::string, std::vector<std::string>>& edges,
                  std::set<const Package*>& out) {
  std::vector<const Package*> stack{start};
  std::set<const Package*> seen{start};
  while (!stack.empty()) {
    const Package* p = stack.back();
    stack.pop_back();
    auto it = edges.find(p->name);
    if (it == edges.end()) continue;
    for (const std::string& next : it->second) {
      const Package* q = ws.Find(next);
      if (q != nullptr && seen.insert(q).second) {
        out.insert(q);
        stack.push_back(q);
      }
    }
  }
}

}  // namespace

Result<std::vector<const Package*>> SelectPackages(const Workspace& ws, const TaskSelection& selection) {
  std::map<std::string, std::vector<std::string>> deps, dependents;
  for (const Package& p : ws.packages) {
    deps[p.name] = p.dependencies;
    for (const std::string& d : p.dependencies) dependents[d].push_back(p.name);
  }
  std::set<const Package*> included, excluded;
  bool any_positive = false;
  for (const std::string& text : selection.filters) {
    Filter f = ParseFilter(text);
    auto matched = MatchCore(ws, f);
    if (!matched.ok()) return matched.error();
    if (matched->empty()) {
      return Status::InvalidArgument("--filter \"" + text + "\" matches no package (packages: " + Available(ws) + ")");
    }
    std::set<const Package*>& into = f.exclude ? excluded : included;
    any_positive = any_positive || !f.exclude;
    for (const Package* p : *matched) {
      if (f.include_self) into.insert(p);
      if (f.dependencies) AddReachable(ws, p, deps, into);
      if (f.dependents) AddReachable(ws, p, dependents, into);
    }
  }
  if (selection.package) {
    const Package* p = ws.FindByNameOrDir(*selection.package);
    if (p == nullptr) {
      return Status::InvalidArgument("package \"" + *selection.package + "\" not found (packages: " + Available(ws) + ")");
    }
    included.insert(p);
    any_positive = true;
  }
  std::vector<const Package*> out;
  for (const Package& p : ws.packages) {
    bool in = any_positive ? included.count(&p) > 0 : true;
    if (in && !excluded.count(&p)) out.push_back(&p);
  }
  return out;
}

}  // namespace cellar::tasks
