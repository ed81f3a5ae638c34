#include "tasks/run/plan.h"

#include "tasks/hash/manifest_json.h"

namespace cellar::tasks {

namespace {

std::string JoinList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + nlohmann::json(items[i]).dump();
  return out + "]";
}

// Package dirs below `dir` (relative to it): their files belong to them,
// never to the enclosing package's default inputs.
std::vector<std::string> NestedPackages(const Workspace& workspace, const std::string& dir) {
  std::vector<std::string> nested;
  for (const auto& p : workspace.packages) {
    if (p.dir == dir || p.dir == ".") continue;
    if (dir == ".") nested.push_back(p.dir);
    else if (p.dir.size() > dir.size() && p.dir.compare(0, dir.size(), dir) == 0 && p.dir[dir.size()] == '/') {
      nested.push_back(p.dir.substr(dir.size() + 1));
    }
  }
  return nested;
}

std::vector<taskhash::EnvValue> EnvValues(const std::vector<std::string>& names, const EnvLookup& env) {
  std::vector<taskhash::EnvValue> values;
  for (const auto& name : names) values.push_back({name, env(name)});
  return values;
}

taskhash::TaskHashInput HashInput(const Workspace& workspace, const TaskNode& node, const EnvLookup& env,
                                  const std::string& global_hash) {
  taskhash::TaskHashInput in;
  in.task_id = node.id;
  in.package_dir = node.dir == "." ? "" : node.dir;
  in.command = node.command;
  in.env = EnvValues(node.definition.env_keys, env);
  in.inputs = node.definition.inputs;
  in.outputs = node.definition.outputs;
  in.nested_packages = NestedPackages(workspace, node.dir);
  in.global_hash = global_hash;
  return in;
}

}  // namespace

std::string PipelineDefinitionText(const Config& config) {
  std::string text;
  for (const auto& [key, t] : config.pipeline) {
    text += key + ": command=" + nlohmann::json(t.command.value_or("")).dump() +
            (t.command ? "" : " (script)") + " inputs=" + JoinList(t.inputs) + " outputs=" + JoinList(t.outputs) +
            " depends_on=" + JoinList(t.depends_on) + " env_keys=" + JoinList(t.env_keys) +
            " cache=" + (t.cache ? "true" : "false") + " timeout_ms=" + std::to_string(t.timeout_ms.value_or(0)) +
            "\n";
  }
  return text;
}

Result<Plan> BuildPlan(const Project& project, const TaskGraph& graph, taskhash::TaskHasher& hasher,
                       const EnvLookup& env, PlanDetail detail) {
  const Config& config = project.config;
  const Workspace& workspace = project.workspace;
  taskhash::GlobalHashInput global_in;
  global_in.task_definitions = PipelineDefinitionText(config);
  global_in.global_dependencies = config.global_dependencies;
  global_in.global_env = EnvValues(config.global_env, env);
  CELLAR_ASSIGN_OR_RETURN(taskhash::GlobalHash global, hasher.HashGlobal(global_in));

  const auto& nodes = graph.nodes();
  std::vector<taskhash::TaskHashInput> inputs;
  inputs.reserve(nodes.size());
  for (const auto& node : nodes) inputs.push_back(HashInput(workspace, node, env, global.hex));
  // One parallel pass over every input file of the run.
  CELLAR_RETURN_IF_ERROR(hasher.Prefetch(inputs));

  Plan plan;
  plan.global_hash = global.hex;
  if (detail == PlanDetail::kManifests) plan.global = taskhash::GlobalHashJson(global);
  plan.tasks.reserve(nodes.size());
  plan.records.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const TaskNode& node = nodes[i];
    for (size_t d : node.dependencies) inputs[i].dependency_hashes.emplace_back(nodes[d].id, plan.tasks[d].hash);
    CELLAR_ASSIGN_OR_RETURN(taskhash::TaskHash hash, hasher.Hash(inputs[i]));

    RunTask task;
    task.id = node.id;
    task.package_dir = node.dir == "." ? workspace.root : workspace.root + "/" + node.dir;
    task.command = node.command;
    task.hash = hash.hex;
    task.outputs = node.definition.outputs;
    task.deps = node.dependencies;
    task.cacheable = node.definition.cache;
    if (node.definition.timeout_ms) task.timeout = std::chrono::milliseconds(*node.definition.timeout_ms);

    TaskRecord record;
    record.id = node.id;
    record.package = node.package;
    record.task = node.task;
    record.directory = node.dir;
    record.command = node.command;
    record.hash = hash.hex;
    record.outputs = node.definition.outputs;
    for (size_t d : node.dependencies) record.dependencies.push_back(nodes[d].id);
    for (size_t d : node.dependents) record.dependents.push_back(nodes[d].id);
    record.env_keys = node.definition.env_keys;
    if (detail == PlanDetail::kManifests) {
      for (const auto& f : hash.manifest.files) record.inputs.emplace_back(f.path, taskhash::DescribeFile(f.digest));
      record.hash_inputs = taskhash::TaskHashJson(hash);
    }

    plan.tasks.push_back(std::move(task));
    plan.records.push_back(std::move(record));
  }
  return plan;
}

}  // namespace cellar::tasks
