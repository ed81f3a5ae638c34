#include "gitclient/local_clone.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "base/strings.h"
#include "env/subprocess.h"
#include "giturl/repository_url.h"

namespace cellar::gitclient {

namespace fs = std::filesystem;

namespace {
std::optional<std::string> Lookup(const std::vector<std::pair<std::string, std::string>>& env, const char* name) {
  for (const auto& [k, v] : env) {
    if (k == name && !v.empty()) return v;
  }
  return std::nullopt;
}

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs git with the user's own environment (their credential helpers and
// settings apply); stdout/stderr go to the terminal.
Status Git(env::ProcessRunner& runner, const std::vector<std::string>& args, const std::string& what) {
  env::SubprocessOptions o;
  o.argv = {"git"};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = env::CurrentEnvironment({}, {"GIT_TERMINAL_PROMPT=0"});
  o.inherit_stdio = true;
  CELLAR_ASSIGN_OR_RETURN(auto proc, runner.Spawn(o));
  int code = proc->Wait();
  if (code != 0) return Status::Unavailable(what + " failed (git exit " + std::to_string(code) + ")");
  return Status();
}

// Exclusive lock on <mirror>.lock for the whole update; released on exit.
class MirrorLock {
 public:
  static Result<MirrorLock> Take(const std::string& mirror) {
    int fd = ::open((mirror + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno(errno, "open " + mirror + ".lock");
    if (::flock(fd, LOCK_EX) != 0) {
      ::close(fd);
      return Status::FromErrno(errno, "lock " + mirror);
    }
    return MirrorLock(fd);
  }
  MirrorLock(MirrorLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  ~MirrorLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit MirrorLock(int fd) : fd_(fd) {}
  int fd_;
};
}  // namespace

Result<CloneOptions> ParseCloneArgs(const std::vector<std::string>& args,
                                    const std::vector<std::pair<std::string, std::string>>& env) {
  CloneOptions o;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* flag) -> Result<std::string> {
      std::string prefix = std::string(flag) + "=";
      if (a.rfind(prefix, 0) == 0) return a.substr(prefix.size());
      if (i + 1 >= args.size()) return Status::InvalidArgument(std::string(flag) + " needs a value");
      return args[++i];
    };
    if (a == "--branch" || a == "-b" || a.starts_with("--branch=")) {
      CELLAR_ASSIGN_OR_RETURN(o.branch, value(a == "-b" ? "-b" : "--branch"));
    } else if (a == "--depth" || a.starts_with("--depth=")) {
      CELLAR_ASSIGN_OR_RETURN(auto d, value("--depth"));
      auto n = ParseUint64(d);
      if (!n || *n == 0 || *n > 1'000'000) return Status::InvalidArgument("--depth must be a positive integer");
      o.depth = static_cast<int>(*n);
    } else if (a == "--server" || a.starts_with("--server=")) {
      CELLAR_ASSIGN_OR_RETURN(o.server, value("--server"));
    } else if (a == "--cache-dir" || a.starts_with("--cache-dir=")) {
      CELLAR_ASSIGN_OR_RETURN(o.cache_dir, value("--cache-dir"));
    } else if (a.starts_with("-")) {
      return Status::InvalidArgument("unknown option " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty() || positional.size() > 2) {
    return Status::InvalidArgument("usage: cellar git clone <url> [<dir>] [--branch B] [--depth N] [--server URL] "
                                   "[--cache-dir DIR]");
  }
  o.url = positional[0];
  CELLAR_ASSIGN_OR_RETURN(auto repo, giturl::ParseRepositoryUrl(o.url));
  o.directory = positional.size() == 2 ? positional[1] : fs::path(repo.name).filename().string();
  if (o.server.empty()) o.server = Lookup(env, "CELLAR_SERVER").value_or("");
  while (o.server.ends_with("/")) o.server.pop_back();
  if (!o.server.empty() && !o.server.starts_with("http://") && !o.server.starts_with("https://")) {
    return Status::InvalidArgument("--server must be an http(s) URL: " + o.server);
  }
  if (o.cache_dir.empty()) {
    if (auto d = Lookup(env, "CELLAR_GIT_CACHE_DIR")) o.cache_dir = *d;
    else if (auto x = Lookup(env, "XDG_CACHE_HOME")) o.cache_dir = *x + "/cellar/git";
    else if (auto h = Lookup(env, "HOME")) o.cache_dir = *h + "/.cache/cellar/git";
    else return Status::InvalidArgument("no cache directory: set --cache-dir or HOME");
  }
  return o;
}

Result<std::string> LocalMirrorPath(const std::string& cache_dir, const std::string& url) {
  CELLAR_ASSIGN_OR_RETURN(auto repo, giturl::ParseRepositoryUrl(url));
  return cache_dir + "/" + repo.repo_key + ".git";
}

Result<std::string> UpdateUrl(const CloneOptions& options) {
  if (options.server.empty()) return options.url;
  CELLAR_ASSIGN_OR_RETURN(auto repo, giturl::ParseRepositoryUrl(options.url));
  return options.server + "/git/" + repo.repo_key + ".git";
}

Result<CloneReport> RunClone(const CloneOptions& options, std::FILE* out, env::ProcessRunner& runner) {
  auto start = std::chrono::steady_clock::now();
  CloneReport report;
  CELLAR_ASSIGN_OR_RETURN(std::string mirror, LocalMirrorPath(options.cache_dir, options.url));
  CELLAR_ASSIGN_OR_RETURN(std::string source, UpdateUrl(options));
  std::error_code ec;
  if (fs::exists(options.directory, ec) && !fs::is_empty(options.directory, ec)) {
    return Status::AlreadyExists("destination '" + options.directory + "' exists and is not empty");
  }
  fs::create_directories(fs::path(mirror).parent_path(), ec);
  if (ec) return Status::Unavailable("cannot create " + fs::path(mirror).parent_path().string() + ": " + ec.message());
  const std::string quiet = options.progress ? "--progress" : "--quiet";
  {
    CELLAR_ASSIGN_OR_RETURN(auto lock, MirrorLock::Take(mirror));
    auto update_start = std::chrono::steady_clock::now();
    if (fs::exists(mirror + "/HEAD", ec)) {
      report.tier = "local";
      std::fprintf(out, "cellar: updating local mirror %s from %s\n", mirror.c_str(),
                   options.server.empty() ? "origin" : options.server.c_str());
      CELLAR_RETURN_IF_ERROR(Git(runner, {"-C", mirror, "fetch", quiet, "--prune", source, "+refs/heads/*:refs/heads/*",
                                  "+refs/tags/*:refs/tags/*"},
                                 "updating the local mirror"));
    } else {
      report.tier = options.server.empty() ? "origin" : "server";
      std::fprintf(out, "cellar: creating local mirror %s from %s\n", mirror.c_str(),
                   options.server.empty() ? "origin" : options.server.c_str());
      // Built beside its final place and renamed: an interrupted clone never
      // looks like a mirror.
      std::string tmp = mirror + ".tmp-" + std::to_string(::getpid());
      fs::remove_all(tmp, ec);
      Status s = Git(runner, {"clone", "--mirror", quiet, "--", source, tmp}, "creating the local mirror");
      if (!s.ok()) {
        fs::remove_all(tmp, ec);
        return s;
      }
      fs::rename(tmp, mirror, ec);
      if (ec) return Status::Unavailable("cannot move the local mirror into place: " + ec.message());
    }
    report.update_seconds = Since(update_start);
  }
  auto checkout_start = std::chrono::steady_clock::now();
  // A local clone of the mirror (hard links where possible; a file:// URL
  // when shallow, which git needs for --depth), then origin points at the
  // real URL so later fetches and pushes behave as after a plain clone.
  std::vector<std::string> args = {"clone", quiet};
  if (!options.branch.empty()) args.insert(args.end(), {"--branch", options.branch});
  if (options.depth > 0) args.insert(args.end(), {"--depth", std::to_string(options.depth)});
  // The directory may come from the repository's name, which may start with '-'.
  args.push_back("--");
  if (options.depth > 0) {
    args.push_back("file://" + fs::absolute(mirror).string());
  } else {
    args.push_back(mirror);
  }
  args.push_back(options.directory);
  CELLAR_RETURN_IF_ERROR(Git(runner, args, "checking out"));
  CELLAR_RETURN_IF_ERROR(Git(runner, {"-C", options.directory, "remote", "set-url", "origin", options.url}, "setting origin"));
  report.checkout_seconds = Since(checkout_start);
  report.total_seconds = Since(start);
  std::fprintf(out, "cellar: cloned %s into %s: tier %s, mirror update %.2fs, checkout %.2fs, total %.2fs\n",
               giturl::WithoutCredentials(options.url).c_str(), options.directory.c_str(), report.tier.c_str(),
               report.update_seconds,
               report.checkout_seconds, report.total_seconds);
  return report;
}

}  // namespace cellar::gitclient
