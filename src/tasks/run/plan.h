// Plan: turns the task graph of a run into what the runner executes. Every
// task is hashed before anything runs (dependencies first, the graph's
// order is topological), so the remote cache can be asked about all of them
// in one batch and --dry/--summarize can show each hash with its inputs.
// Thread-safety: BuildPlan is reentrant; the hasher may be shared.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "tasks/config/config.h"
#include "tasks/graph/project.h"
#include "tasks/graph/task_graph.h"
#include "tasks/hash/task_hash.h"
#include "tasks/run/run_record.h"
#include "tasks/run/task_cache.h"

namespace cellar::tasks {

struct Plan {
  std::vector<RunTask> tasks;       // in graph order; RunTask::deps index this vector
  std::vector<TaskRecord> records;  // one per task, same order
  std::string global_hash;
  // What went into global_hash (lockfiles, global dependencies and env),
  // shown by --dry=json and --summarize: a changed lockfile changes every
  // task hash, and this is where a user sees why.
  nlohmann::json global;
};

// The text of the pipeline that enters the global hash: every entry's
// command, globs, dependencies, env keys, cache flag and timeout, in key
// order. Not the raw file: remote settings and comments must not change
// task hashes.
std::string PipelineDefinitionText(const Config& config);

// How much of each hash's manifest the records keep.
enum class PlanDetail {
  kHashes,     // hashes only: a plain run (the inputs lists of a large
               // workspace cost more to build than a full hit takes)
  kManifests,  // every input and the manifest JSON: --dry and --summarize
};

// Hashes every node of `graph`. Fails when an input cannot be listed or read.
Result<Plan> BuildPlan(const Project& project, const TaskGraph& graph, taskhash::TaskHasher& hasher,
                       const EnvLookup& env, PlanDetail detail = PlanDetail::kManifests);

}  // namespace cellar::tasks
