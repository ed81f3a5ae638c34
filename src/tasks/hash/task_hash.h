// The task hash of `cellar run` (issue 14 section 4): a BLAKE3 digest of
// everything that can change a task's result: its command, the values of its
// env_keys, the content of every input file (named by its git blob id), the hashes of the tasks it
// depends on, and a run-wide global hash (task definitions, root lockfiles,
// globalDependencies, global env). Identical across machines and across
// checkouts at different absolute paths; independent of the order files are
// listed in. Algorithm, canonical form and versioning: docs/task-hash.md.
//
// Use: one TaskHasher per run. HashGlobal() once, then Prefetch() with every
// task of the run (hashes all their input files in one parallel pass), then
// Hash() per task in dependency order (each needs its dependencies' hashes).
// The manifest of each hash lists every input that went into it, for
// `--dry=json` and `--summarize` (manifest_json.h).
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "tasks/hash/file_hasher.h"
#include "tasks/hash/git_lister.h"
#include "tasks/hash/input_files.h"

namespace cellar::taskhash {

// Bumped whenever the canonical stream changes, so old cache entries miss
// instead of being reused under a different meaning.
// 2: files are named by git blob ids instead of BLAKE3 digests.
inline constexpr int kTaskHashVersion = 2;
// Hashes are the first 16 bytes of the BLAKE3 digest, as 32 hex characters.
inline constexpr size_t kHashBytes = 16;

// An environment variable; an unset variable (nullopt) differs from an empty one.
struct EnvValue {
  std::string name;
  std::optional<std::string> value;
  auto operator<=>(const EnvValue&) const = default;
};

struct TaskHashInput {
  std::string task_id;      // "pkg#task"
  std::string package_dir;  // relative to the workspace root; "" = root package
  std::string command;
  std::vector<EnvValue> env;                // env_keys with their values
  std::vector<std::string> inputs;          // globs relative to package_dir; empty = default
  std::vector<std::string> outputs;         // output globs (never inputs)
  std::vector<std::string> nested_packages; // see InputQuery
  std::vector<std::pair<std::string, std::string>> dependency_hashes;  // (task id, hash)
  std::string global_hash;                  // GlobalHash::hex of this run
};

struct InputFile {
  std::string path;  // relative to the package dir (task) or workspace root (global)
  FileDigest digest;
  bool operator==(const InputFile&) const = default;
};

// Everything that went into one task hash, in canonical order (files by
// path, env by name, dependencies by id). Env values are kept here because
// they are hashed; manifest_json.h shows only their digests.
struct TaskManifest {
  int version = kTaskHashVersion;
  std::string task_id;
  std::string package_dir;
  std::string command;
  InputSource input_source = InputSource::kGit;
  std::vector<std::string> input_globs;
  std::vector<std::string> outputs;
  std::vector<EnvValue> env;
  std::vector<std::pair<std::string, std::string>> dependencies;
  std::vector<InputFile> files;
  std::string global_hash;
};

struct TaskHash {
  std::string hex;
  TaskManifest manifest;
};

struct GlobalHashInput {
  std::string task_definitions;                  // the config file's task definition text
  std::vector<std::string> global_dependencies;  // globs relative to the workspace root
  std::vector<EnvValue> global_env;
};

struct GlobalManifest {
  int version = kTaskHashVersion;
  std::string task_definitions;
  std::vector<InputFile> files;  // root lockfiles present, then globalDependencies; by path
  std::vector<EnvValue> env;
};

struct GlobalHash {
  std::string hex;
  GlobalManifest manifest;
};

// Root lockfiles that go into the global hash when present.
const std::vector<std::string>& LockfileNames();

// Canonical hashes of manifests: pure functions of their fields (sorting
// happens here too, so callers need not pre-sort).
std::string HashTaskManifest(const TaskManifest& manifest);
std::string HashGlobalManifest(const GlobalManifest& manifest);

class TaskHasher {
 public:
  // `workspace_root` is absolute. `git` and `files` must outlive this object.
  TaskHasher(std::string workspace_root, GitLister& git, FileHasher& files);

  Result<GlobalHash> HashGlobal(const GlobalHashInput& input);
  // Enumerates the inputs of every task and hashes the union of their files
  // in one parallel pass; later Hash() calls find them cached. Optional.
  Status Prefetch(const std::vector<TaskHashInput>& tasks);
  // Fails on an invalid glob or package dir, a git failure or an unreadable
  // input file.
  Result<TaskHash> Hash(const TaskHashInput& input);

 private:
  // Digests of `paths` (relative to `package_dir`, itself relative to the
  // workspace root), from Prefetch()'s pass where it saw them.
  Result<std::vector<InputFile>> HashListed(const std::string& package_dir,
                                            const std::vector<std::string>& paths);
  // Digests of `paths` (relative to `package_dir`): from git's index where
  // it vouches for the file, else read through the FileHasher.
  Result<std::vector<std::optional<FileDigest>>> DigestsOf(const std::string& package_dir,
                                                           const std::vector<std::string>& paths);
  // The same for paths relative to the workspace root; `remember`: keep
  // what is read in the FileHasher for later calls (Prefetch keeps its own).
  Result<std::vector<std::optional<FileDigest>>> DigestsFromRoot(const std::vector<std::string>& paths,
                                                                 bool remember);
  static InputQuery QueryOf(const TaskHashInput& input);
  // The task's input listing: the one Prefetch() made, else a fresh one.
  Result<InputListing> ListInputs(const TaskHashInput& input);

  InputEnumerator enumerator_;
  FileHasher& files_;
  std::mutex mu_;
  // Listings made by Prefetch(), by task id. GUARDED_BY(mu_)
  std::map<std::string, InputListing> prefetched_;
  // Prefetch()'s pass: every input path (relative to the workspace root,
  // sorted) and its digest, index for index. GUARDED_BY(mu_)
  std::vector<std::string> prefetched_paths_;
  std::vector<std::optional<FileDigest>> prefetched_digests_;
};

}  // namespace cellar::taskhash
