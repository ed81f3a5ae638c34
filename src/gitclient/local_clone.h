// `cellar git clone`: the runner-local tier of the git cache. Keeps one bare
// mirror per repository on the runner (default ~/.cache/cellar/git), brings
// it up to date from the cellar server (or the origin when no server is
// configured), then makes the working copy from it with a local clone
// (hard links when on the same file system) whose origin is the real URL.
// Concurrent clones of one repository on a runner take turns on the mirror
// (flock), so they never corrupt it.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/process_runner.h"

namespace cellar::gitclient {

struct CloneOptions {
  std::string url;        // origin, e.g. https://github.com/org/repo.git
  std::string directory;  // where the working copy goes
  std::string branch;     // --branch
  int depth = 0;          // --depth (0: full)
  std::string server;     // cellar base URL ("http://cellar:8080"); empty: origin only
  std::string cache_dir;  // local mirrors
  bool progress = false;  // git progress on stderr (a terminal)
};

// Parses `cellar git clone` arguments; `env` supplies CELLAR_SERVER,
// CELLAR_GIT_CACHE_DIR, XDG_CACHE_HOME and HOME defaults.
Result<CloneOptions> ParseCloneArgs(const std::vector<std::string>& args,
                                    const std::vector<std::pair<std::string, std::string>>& env);

// Where the local mirror of `url` lives: <cache_dir>/<host>/<path>.git.
// kInvalidArgument for URLs that are not http(s)://host/path or that would
// escape the cache directory.
Result<std::string> LocalMirrorPath(const std::string& cache_dir, const std::string& url);

// The URL the mirror is updated from: <server>/git/<host>/<path> with a
// server, the origin URL without one.
Result<std::string> UpdateUrl(const CloneOptions& options);

struct CloneReport {
  std::string tier;  // "local" (mirror existed), "server" or "origin" (mirror created)
  double update_seconds = 0;
  double checkout_seconds = 0;
  double total_seconds = 0;
};

// Runs the clone with `runner` starting git; progress and the summary go to
// `out` (stderr).
Result<CloneReport> RunClone(const CloneOptions& options, std::FILE* out, env::ProcessRunner& runner);

}  // namespace cellar::gitclient
