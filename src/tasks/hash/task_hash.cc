#include "tasks/hash/task_hash.h"

#include <algorithm>

#include "glob/glob.h"
#include "tasks/hash/canonical.h"

namespace cellar::taskhash {
namespace {

void WriteEnv(CanonicalHasher& h, std::vector<EnvValue> env) {
  std::sort(env.begin(), env.end());
  h.Number(env.size());
  for (const EnvValue& e : env) {
    h.String(e.name);
    h.Number(e.value.has_value() ? 1 : 0);
    if (e.value) h.String(*e.value);
  }
}

void WriteFiles(CanonicalHasher& h, std::vector<const InputFile*> files) {
  std::sort(files.begin(), files.end(),
            [](const InputFile* a, const InputFile* b) { return a->path < b->path; });
  h.Number(files.size());
  for (const InputFile* f : files) {
    h.String(f->path);
    h.Number(static_cast<uint64_t>(f->digest.kind));
    h.String(std::string_view(reinterpret_cast<const char*>(f->digest.id.data()),
                              f->digest.id.size()));
  }
}

std::vector<const InputFile*> Pointers(const std::vector<InputFile>& files) {
  std::vector<const InputFile*> out;
  out.reserve(files.size());
  for (const InputFile& f : files) out.push_back(&f);
  return out;
}

void WriteList(CanonicalHasher& h, const std::vector<std::string>& items) {
  h.Number(items.size());
  for (const std::string& item : items) h.String(item);
}

}  // namespace

const std::vector<std::string>& LockfileNames() {
  static const std::vector<std::string> names = {"Cargo.lock", "go.sum", "package-lock.json",
                                                 "pnpm-lock.yaml", "yarn.lock"};
  return names;
}

std::string HashTaskManifest(const TaskManifest& m) {
  CanonicalHasher h;
  h.String("cellar-task-hash");
  h.Number(static_cast<uint64_t>(m.version));
  h.String(m.global_hash);
  h.String(m.task_id);
  h.String(m.package_dir);
  h.String(m.command);
  // Glob order matters ('!' ordering), so the lists are hashed as given.
  WriteList(h, m.input_globs);
  WriteList(h, m.outputs);
  WriteEnv(h, m.env);
  std::vector<std::pair<std::string, std::string>> deps = m.dependencies;
  std::sort(deps.begin(), deps.end());
  h.Number(deps.size());
  for (const auto& [id, hex] : deps) {
    h.String(id);
    h.String(hex);
  }
  WriteFiles(h, Pointers(m.files));
  return h.Hex(kHashBytes);
}

std::string HashGlobalManifest(const GlobalManifest& m) {
  CanonicalHasher h;
  h.String("cellar-global-hash");
  h.Number(static_cast<uint64_t>(m.version));
  h.String(m.task_definitions);
  WriteFiles(h, Pointers(m.files));
  WriteEnv(h, m.env);
  return h.Hex(kHashBytes);
}

TaskHasher::TaskHasher(std::string workspace_root, GitLister& git, FileHasher& files)
    : enumerator_(std::move(workspace_root), git), files_(files) {}

Result<std::vector<std::optional<FileDigest>>> TaskHasher::DigestsOf(const std::string& package_dir,
                                                                     const std::vector<std::string>& paths) {
  std::vector<std::string> from_root;  // the same paths, relative to the workspace root
  from_root.reserve(paths.size());
  for (const std::string& path : paths) from_root.push_back(package_dir.empty() ? path : package_dir + "/" + path);
  return DigestsFromRoot(from_root, /*remember=*/true);
}

Result<std::vector<std::optional<FileDigest>>> TaskHasher::DigestsFromRoot(const std::vector<std::string>& paths,
                                                                           bool remember) {
  Result<std::vector<std::optional<FileDigest>>> digests = enumerator_.IndexDigests(paths);
  if (!digests.ok()) return digests.error();
  std::vector<std::string> to_read;
  std::vector<size_t> to_read_at;
  for (size_t i = 0; i < paths.size(); ++i) {
    if ((*digests)[i]) continue;
    to_read.push_back(paths[i]);
    to_read_at.push_back(i);
  }
  if (to_read.empty()) return digests;
  const std::string& root = enumerator_.workspace_root();
  Result<std::vector<std::optional<FileDigest>>> read =
      remember ? files_.Hash(root, to_read) : files_.HashOnce(root, to_read);
  if (!read.ok()) return read.error();
  for (size_t k = 0; k < to_read.size(); ++k) (*digests)[to_read_at[k]] = std::move((*read)[k]);
  return digests;
}

Result<std::vector<InputFile>> TaskHasher::HashListed(const std::string& package_dir,
                                                      const std::vector<std::string>& paths) {
  std::vector<std::optional<FileDigest>> digests(paths.size());
  std::vector<std::string> unseen;  // not in Prefetch()'s pass
  std::vector<size_t> unseen_at;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::string full;
    for (size_t i = 0; i < paths.size(); ++i) {
      full.assign(package_dir);
      if (!full.empty()) full += '/';
      full += paths[i];
      auto it = std::lower_bound(prefetched_paths_.begin(), prefetched_paths_.end(), full);
      if (it != prefetched_paths_.end() && *it == full) {
        digests[i] = prefetched_digests_[static_cast<size_t>(it - prefetched_paths_.begin())];
      } else {
        unseen.push_back(paths[i]);
        unseen_at.push_back(i);
      }
    }
  }
  if (!unseen.empty()) {
    Result<std::vector<std::optional<FileDigest>>> read = DigestsOf(package_dir, unseen);
    if (!read.ok()) return read.error();
    for (size_t k = 0; k < unseen.size(); ++k) digests[unseen_at[k]] = std::move((*read)[k]);
  }
  std::vector<InputFile> files;
  files.reserve(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    // Absent: deleted from the work tree but still in the git index.
    if (digests[i]) files.push_back(InputFile{paths[i], std::move(*digests[i])});
  }
  return files;
}

Result<GlobalHash> TaskHasher::HashGlobal(const GlobalHashInput& input) {
  const std::string& root = enumerator_.workspace_root();
  std::vector<std::string> paths = LockfileNames();
  if (!input.global_dependencies.empty()) {
    Result<glob::PatternSet> set = glob::PatternSet::Parse(input.global_dependencies);
    if (!set.ok()) return set.error().WithContext("globalDependencies");
    glob::ExpandOptions options;
    options.skip_dir_names = {".git", "node_modules", ".cellar"};
    Result<std::vector<std::string>> deps = glob::Expand(root, *set, options);
    if (!deps.ok()) return deps.error().WithContext("globalDependencies");
    paths.insert(paths.end(), deps->begin(), deps->end());
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  Result<std::vector<InputFile>> files = HashListed("", paths);
  if (!files.ok()) return files.error();

  GlobalHash global;
  global.manifest.task_definitions = input.task_definitions;
  global.manifest.files = std::move(*files);
  global.manifest.env = input.global_env;
  std::sort(global.manifest.env.begin(), global.manifest.env.end());
  global.hex = HashGlobalManifest(global.manifest);
  return global;
}

InputQuery TaskHasher::QueryOf(const TaskHashInput& input) {
  return InputQuery{input.package_dir, input.inputs, input.outputs, input.nested_packages};
}

Result<InputListing> TaskHasher::ListInputs(const TaskHashInput& input) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = prefetched_.find(input.task_id);
    if (it != prefetched_.end()) return it->second;
  }
  return enumerator_.List(QueryOf(input));
}

Status TaskHasher::Prefetch(const std::vector<TaskHashInput>& tasks) {
  std::vector<std::string> all;  // relative to the workspace root
  std::map<std::string, InputListing> listings;
  for (const TaskHashInput& task : tasks) {
    Result<InputListing> listing = enumerator_.List(QueryOf(task));
    if (!listing.ok()) return listing.status().WithContext(task.task_id);
    for (const std::string& file : listing->files) {
      all.push_back(task.package_dir.empty() ? file : task.package_dir + "/" + file);
    }
    listings.insert_or_assign(task.task_id, std::move(*listing));
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  // Files git's index vouches for are known without a read; the rest are
  // read in one parallel pass, kept here rather than in the FileHasher.
  Result<std::vector<std::optional<FileDigest>>> digests = DigestsFromRoot(all, /*remember=*/false);
  if (!digests.ok()) return digests.status();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, listing] : listings) prefetched_.insert_or_assign(id, std::move(listing));
  prefetched_paths_ = std::move(all);
  prefetched_digests_ = std::move(*digests);
  return Status::Ok();
}

Result<TaskHash> TaskHasher::Hash(const TaskHashInput& input) {
  Result<InputListing> listing = ListInputs(input);
  if (!listing.ok()) return listing.status().WithContext(input.task_id);
  Result<std::vector<InputFile>> files = HashListed(input.package_dir, listing->files);
  if (!files.ok()) return files.status().WithContext(input.task_id);

  TaskHash out;
  TaskManifest& m = out.manifest;
  m.task_id = input.task_id;
  m.package_dir = input.package_dir;
  m.command = input.command;
  m.input_source = listing->source;
  m.input_globs = input.inputs;
  m.outputs = input.outputs;
  m.env = input.env;
  std::sort(m.env.begin(), m.env.end());
  m.dependencies = input.dependency_hashes;
  std::sort(m.dependencies.begin(), m.dependencies.end());
  m.files = std::move(*files);
  m.global_hash = input.global_hash;
  out.hex = HashTaskManifest(m);
  return out;
}

}  // namespace cellar::taskhash
