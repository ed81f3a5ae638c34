// SharedGitTier: git mirrors published to the fleet's bucket, so a node
// without a local mirror builds one from the bucket and asks the upstream
// only for what changed since (docs/protocols/git.md, "Shared tier").
//
// What the bucket holds per repository:
//  - bundles (`git bundle`), stored as ordinary content-addressed blobs: one
//    full bundle starts a generation, then up to `max_incrementals`
//    incremental bundles each carry what a later publish added;
//  - a manifest document `git/<repo>/manifest.json`, written last, listing
//    the generation's bundles in order and the refs (and HEAD) they add up
//    to. A reader that finds a manifest therefore finds all it names.
// Ref deletions need no bundle: restoring sets the refs to the manifest's
// list exactly.
//
// Two nodes publishing the same repository at once each write a complete,
// consistent manifest; the last one stays. (The fleet's fetch lease makes
// that rare.) Thread-safety: all methods may be called from any thread;
// they block on git and on the bucket, so never from an I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/process_runner.h"
#include "store/blob_store.h"
#include "store/documents.h"

namespace cellar::git {

struct SharedTierOptions {
  std::string tmp_dir;        // for bundle files on their way in or out
  int max_incrementals = 8;   // then the next publish starts a new generation
  std::chrono::milliseconds git_timeout{30 * 60 * 1000};
  std::vector<std::string> git_env;  // the environment git runs with (MirrorStore::GitEnv)
};

struct PublishResult {
  enum class Kind { kUnchanged, kRefsOnly, kIncremental, kFull };
  Kind kind = Kind::kUnchanged;
  uint64_t bundle_bytes = 0;
};

struct RestoreResult {
  int bundles = 0;
  uint64_t bundle_bytes = 0;
};

class SharedGitTier {
 public:
  SharedGitTier(store::BlobStore& bundles, store::Documents& manifests, env::ProcessRunner& runner,
                SharedTierOptions options);

  // Publishes the bare repository at `repo_path` as `repo_key`.
  Result<PublishResult> Publish(const std::string& repo_key, const std::string& repo_path);

  // Fills the empty bare repository at `repo_path` with the bucket's copy of
  // `repo_key`: objects from every bundle, refs and HEAD from the manifest.
  // kNotFound when the bucket has none. On error the repository may hold
  // part of it; callers build in a temporary directory.
  Result<RestoreResult> Restore(const std::string& repo_key, const std::string& repo_path);

  static std::string ManifestName(const std::string& repo_key) { return "git/" + repo_key + "/manifest.json"; }

 private:
  using Refs = std::map<std::string, std::string>;  // name -> object id
  Result<env::RunResult> Git(std::vector<std::string> args, const std::string& input = "");
  Result<Refs> ReadRefs(const std::string& repo_path);

  store::BlobStore& bundles_;
  store::Documents& manifests_;
  env::ProcessRunner& runner_;
  SharedTierOptions options_;
};

}  // namespace cellar::git
