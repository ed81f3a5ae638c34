#include "protocols/git/mirror_store.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/digest.h"
#include "base/log.h"
#include "base/strings.h"
#include "hash/blake3.h"
#include "trace/current_span.h"
#include "trace/tracer.h"

namespace cellar::git {

namespace fs = std::filesystem;

namespace {
// Refs a mirror keeps: branches, tags and pull-request heads (not GitHub's
// constantly regenerated merge refs).
const std::vector<std::string> kRefspecs = {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*",
                                            "+refs/pull/*/head:refs/pull/*/head"};

// Appended to every mirror's config (docs/protocols/git.md section 10): serve any
// present object (v0 survives ref moves), filters, bitmaps, packs only, and
// no automatic gc (cellar owns maintenance).
constexpr const char* kMirrorConfig =
    "[protocol]\n\tversion = 2\n"
    "[uploadpack]\n\tallowFilter = true\n\tallowAnySHA1InWant = true\n\tkeepAlive = 5\n"
    "[repack]\n\twriteBitmaps = true\n"
    "[pack]\n\tuseBitmaps = true\n"
    "[core]\n\tcommitGraph = true\n"
    "[fetch]\n\twriteCommitGraph = true\n\tunpackLimit = 1\n"
    "[transfer]\n\tunpackLimit = 1\n"
    "[gc]\n\tauto = 0\n\tautoDetach = false\n";

struct EvictionCandidate {
  std::string key;
  int64_t last_use_ms;
  bool old;       // created longer than max_age ago
  double weight;  // bytes per use
};

// Sorts `idle` so that the first mirror is the first to go.
void OrderForEviction(std::vector<EvictionCandidate>& idle, MirrorEvictionPolicy policy) {
  if (policy == MirrorEvictionPolicy::kLeastRecentlyUsed) {
    std::sort(idle.begin(), idle.end(), [](const auto& a, const auto& b) { return a.last_use_ms < b.last_use_ms; });
    return;
  }
  std::sort(idle.begin(), idle.end(), [](const auto& a, const auto& b) {
    if (a.old != b.old) return a.old;
    return a.weight > b.weight;
  });
}

// A file time as unix milliseconds (file_clock's epoch is not the unix epoch).
// The git subcommand of `args` ("fetch" of {"-C", dir, "fetch", ...}): the
// first argument that is neither an option nor an option's value.
std::string GitSubcommand(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-C" || args[i] == "-c") {
      ++i;
      continue;
    }
    if (!args[i].starts_with("-")) return args[i];
  }
  return "";
}

int64_t UnixMs(fs::file_time_type t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::file_clock::to_sys(t).time_since_epoch())
      .count();
}

constexpr const char* kRefsDocumentNamespace = "git/refs";

uint64_t DirectoryBytes(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) total += it->file_size(size_ec);
  }
  return total;
}

std::string FirstLine(const std::string& s) {
  std::string_view v = TrimWhitespace(s);
  size_t nl = v.find('\n');
  return std::string(nl == std::string_view::npos ? v : v.substr(0, nl));
}
}  // namespace

MirrorStore::MirrorStore(MirrorOptions options, env::ProcessRunner& runner)
    : options_(std::move(options)), runner_(runner) {}

std::string MirrorStore::PathFor(const std::string& repo_key) const {
  return options_.root + "/mirrors/" + repo_key + ".git";
}

std::string MirrorStore::TemplatePath() const { return options_.root + "/template.git"; }

bool MirrorStore::Exists(const std::string& repo_key) const {
  std::error_code ec;
  return fs::exists(PathFor(repo_key) + "/HEAD", ec);
}

std::vector<std::string> MirrorStore::GitEnv(const std::string& authorization, const std::string& git_protocol) const {
  return GitEnvFor(options_.root, authorization, git_protocol);
}

std::vector<std::string> MirrorStore::GitEnvFor(const std::string& root, const std::string& authorization,
                                                const std::string& git_protocol) {
  std::vector<std::string> extra = {
      "HOME=" + root + "/home", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
      "GIT_TERMINAL_PROMPT=0",           "GIT_ASKPASS=true",      "SSH_ASKPASS=true",
      "GIT_NO_LAZY_FETCH=1",             "LC_ALL=C"};
  if (!git_protocol.empty()) extra.push_back("GIT_PROTOCOL=" + git_protocol);
  if (!authorization.empty()) {
    extra.push_back("GIT_CONFIG_COUNT=1");
    extra.push_back("GIT_CONFIG_KEY_0=http.extraHeader");
    extra.push_back("GIT_CONFIG_VALUE_0=Authorization: " + authorization);
  }
  return env::CurrentEnvironment({"GIT_", "HOME=", "XDG_CONFIG_HOME=", "LC_ALL="}, extra);
}

Result<env::RunResult> MirrorStore::RunGit(std::vector<std::string> args, const std::string& authorization,
                                           const std::string& input) {
  env::SubprocessOptions o;
  o.argv = {"git"};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = GitEnv(authorization, "");
  // Within a traced request (trace/current_span.h) each git run is a span.
  const trace::CurrentSpan* current = trace::Current();
  const std::string command = GitSubcommand(args);
  trace::ScopedSpan span(current ? current->tracer : nullptr, current ? &current->context : nullptr, "git " + command);
  span.Set("process.executable.name", "git");
  span.Set("cellar.git.command", command);
  auto ran = runner_.Run(std::move(o), input, options_.fetch_timeout);
  if (!ran.ok()) {
    span.SetError(ran.error().message());
    return ran.error();
  }
  env::RunResult result = std::move(*ran);
  span.Set("process.exit.code", static_cast<int64_t>(result.exit_code));
  if (result.timed_out) {
    span.SetError("timed out");
    return Status::DeadlineExceeded("git did not finish within " +
                                    std::to_string(options_.fetch_timeout.count() / 1000) + " s");
  }
  if (result.exit_code != 0) span.SetError("git " + command + " exited " + std::to_string(result.exit_code));
  return result;
}

Status MirrorStore::Init() {
  std::error_code ec;
  for (const char* dir : {"/mirrors", "/tmp", "/trash", "/home"}) {
    fs::create_directories(options_.root + dir, ec);
    if (ec) return Status::Unavailable("cannot create " + options_.root + dir + ": " + ec.message());
  }
  // Interrupted clones and evictions: never visible as mirrors, just delete.
  for (const char* dir : {"/tmp", "/trash"}) {
    for (const auto& entry : fs::directory_iterator(options_.root + dir, ec)) fs::remove_all(entry.path(), ec);
  }
  if (!fs::exists(TemplatePath() + "/HEAD")) {
    std::string tmp = options_.root + "/tmp/template.git";
    auto init = RunGit({"init", "--bare", "-q", tmp}, "");
    if (!init.ok() || init->exit_code != 0) {
      return Status::Unavailable("git init failed (is git installed?): " +
                                 (init.ok() ? FirstLine(init->err) : init.error().message()));
    }
    std::ofstream(tmp + "/config", std::ios::app) << kMirrorConfig;
    fs::rename(tmp, TemplatePath(), ec);
    if (ec) return Status::Unavailable("cannot create " + TemplatePath() + ": " + ec.message());
  }
  // Mirrors left by a previous run: a git process killed mid-fetch leaves
  // lock files and temporary packs (refs never moved: fetch is atomic).
  uint64_t total = 0;
  std::lock_guard lock(mu_);
  fs::path mirrors = options_.root + "/mirrors";
  for (auto it = fs::recursive_directory_iterator(mirrors, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path& p = it->path();
    if (!it->is_directory() || p.extension() != ".git" || !fs::exists(p / "HEAD")) continue;
    it.disable_recursion_pending();
    // One walk both cleans up and measures the mirror.
    MirrorState state;
    for (auto inner = fs::recursive_directory_iterator(p, ec); !ec && inner != fs::recursive_directory_iterator();
         inner.increment(ec)) {
      std::string name = inner->path().filename().string();
      std::error_code file_ec;
      if (name.ends_with(".lock") || name.starts_with("tmp_pack_") || name.starts_with("tmp_idx_")) {
        fs::remove(inner->path(), file_ec);
      } else if (inner->is_regular_file(file_ec)) {
        state.bytes += inner->file_size(file_ec);
      }
    }
    std::string key = fs::relative(p, mirrors).string();
    key.resize(key.size() - 4);
    // A mirror found at start-up counts as created and last used when its
    // directory last changed (a fetch renames packs into it).
    state.last_use_ms = UnixMs(fs::last_write_time(p, ec));
    state.created_ms = state.last_use_ms;
    total += state.bytes;
    mirrors_[key] = state;
  }
  total_bytes_ = total;
  return Status();
}

Status MirrorStore::Update(const std::string& repo_key, const std::string& url, const std::string& authorization) {
  BeginUse(repo_key);
  Status s = flights_.Do(repo_key, [&]() -> Status {
    auto start = std::chrono::steady_clock::now();
    uint64_t before = 0;
    {
      std::lock_guard lock(mu_);
      before = mirrors_[repo_key].bytes;
    }
    // Across the fleet, one node at a time clones a repository it has no
    // mirror of: the holder keeps the lease until it published the mirror,
    // so a node that waited builds its own from the bucket. That node then
    // lets go at once (others may restore beside it), and a node with a
    // mirror fetches without the lease: the bucket would not save it any
    // upstream traffic.
    redis::FleetLock::Hold hold;
    if (options_.fleet_lock != nullptr && !Exists(repo_key)) {
      hold = options_.fleet_lock->Acquire("git:" + repo_key);
      if (hold.waited) hold.lease.reset();
    }
    Status run = Exists(repo_key) ? Fetch(PathFor(repo_key), url, authorization, kRefspecs)
                                  : Clone(repo_key, url, authorization);
    uint64_t grown = 0;
    if (run.ok()) {
      Maintain(repo_key);
      std::ofstream(PathFor(repo_key) + "/cellar-fetched", std::ios::trunc) << "last upstream fetch\n";
      AnnounceRefs(repo_key);
      Measure(repo_key);
      {
        std::lock_guard lock(mu_);
        uint64_t after = mirrors_[repo_key].bytes;
        grown = after > before ? after - before : 0;
      }
      // A fetch that brought nothing new has nothing to publish (a moved ref
      // without new objects waits for the next one that does).
      if (options_.on_changed && (grown > 0 || before == 0)) options_.on_changed(repo_key, hold.lease);
    } else if (Exists(repo_key)) {
      Measure(repo_key);  // a mirror from the shared tier, placed despite the upstream
    }
    if (options_.on_upstream_run) {
      options_.on_upstream_run(run.ok(), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                               grown);
    }
    return run;
  });
  EndUse(repo_key);
  if (s.ok()) EvictIfNeeded();
  return s;
}

Status MirrorStore::FetchObjects(const std::string& repo_key, const std::string& url,
                                 const std::vector<std::string>& oids, const std::string& authorization) {
  if (!Exists(repo_key)) return Status::NotFound("no mirror");
  std::vector<std::string> refspecs;
  for (const auto& oid : oids) refspecs.push_back(oid + ":refs/cache/pins/" + oid);
  BeginUse(repo_key);
  std::string flight = repo_key + " pins";
  for (const auto& oid : oids) flight += " " + oid;
  Status s = flights_.Do(flight,
                         [&] { return Fetch(PathFor(repo_key), url, authorization, refspecs); });
  EndUse(repo_key);
  return s;
}

Status MirrorStore::Fetch(const std::string& dir, const std::string& url, const std::string& authorization,
                          const std::vector<std::string>& refspecs) {
  std::vector<std::string> args = {"-C", dir, "fetch", "--quiet", "--prune", "--atomic", "--no-write-fetch-head", url};
  args.insert(args.end(), refspecs.begin(), refspecs.end());
  CELLAR_ASSIGN_OR_RETURN(auto r, RunGit(std::move(args), authorization));
  if (r.exit_code != 0) return Status::Unavailable("upstream fetch failed: " + FirstLine(r.err));
  return Status();
}

Status MirrorStore::Clone(const std::string& repo_key, const std::string& url, const std::string& authorization) {
  std::string tmp = options_.root + "/tmp/" + std::to_string(::getpid()) + "-" + std::to_string(++tmp_counter_) + ".git";
  std::error_code ec;
  auto cleanup = [&] { fs::remove_all(tmp, ec); };
  auto init = RunGit({"init", "--bare", "-q", tmp}, "");
  if (!init.ok() || init->exit_code != 0) {
    cleanup();
    return Status::Internal("git init failed: " + (init.ok() ? FirstLine(init->err) : init.error().message()));
  }
  std::ofstream(tmp + "/config", std::ios::app) << kMirrorConfig;
  const bool restored = RestoreFromSharedTier(repo_key, tmp);
  if (Status s = Fetch(tmp, url, authorization, kRefspecs); !s.ok()) {
    // With the bucket's copy in hand, an upstream that cannot be reached
    // still leaves a mirror to serve; the error goes back to the caller,
    // which therefore does not count the mirror as freshly fetched.
    if (restored && Place(repo_key, tmp).ok()) return s;
    cleanup();
    return s;
  }
  // HEAD follows the upstream's default branch.
  auto head = RunGit({"ls-remote", "--symref", url, "HEAD"}, authorization);
  if (head.ok() && head->exit_code == 0 && head->out.starts_with("ref: ")) {
    std::string target = head->out.substr(5, head->out.find('\t') - 5);
    (void)RunGit({"-C", tmp, "symbolic-ref", "HEAD", target}, "");
  }
  // One pack with a bitmap: clones are then served without a counting phase.
  (void)RunGit({"-C", tmp, "repack", "-a", "-d", "-q", "--write-bitmap-index"}, "");
  return Place(repo_key, tmp);
}

bool MirrorStore::RestoreFromSharedTier(const std::string& repo_key, const std::string& tmp) {
  if (options_.shared_tier == nullptr) return false;
  Result<RestoreResult> restored = options_.shared_tier->Restore(repo_key, tmp);
  if (restored.ok()) {
    Log(LogLevel::kInfo, "git mirror built from the shared tier",
        "\"repo\":\"" + JsonEscape(repo_key) + "\",\"bundles\":" + std::to_string(restored->bundles) +
            ",\"bytes\":" + std::to_string(restored->bundle_bytes));
    if (options_.on_restored) options_.on_restored(true, restored->bundle_bytes);
    return true;
  }
  if (restored.status().code() == Code::kNotFound) return false;
  Log(LogLevel::kWarn, "git mirror not built from the shared tier; cloning from the upstream",
      "\"repo\":\"" + JsonEscape(repo_key) + "\",\"error\":\"" + JsonEscape(restored.status().ToString()) + "\"");
  if (options_.on_restored) options_.on_restored(false, 0);
  // Start again from an empty repository: the failed restore may have left
  // objects and staging refs behind.
  std::error_code ec;
  fs::remove_all(tmp, ec);
  auto init = RunGit({"init", "--bare", "-q", tmp}, "");
  if (init.ok() && init->exit_code == 0) std::ofstream(tmp + "/config", std::ios::app) << kMirrorConfig;
  return false;
}

Status MirrorStore::Place(const std::string& repo_key, const std::string& tmp) {
  std::error_code ec;
  std::string final_path = PathFor(repo_key);
  fs::create_directories(fs::path(final_path).parent_path(), ec);
  fs::rename(tmp, final_path, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    // Another process won the race (not expected: one server per data dir).
    if (Exists(repo_key)) return Status();
    return Status::Internal("cannot move the new mirror into place: " + ec.message());
  }
  Log(LogLevel::kInfo, "git mirror created", "\"repo\":\"" + JsonEscape(repo_key) + "\"");
  return Status();
}

Result<std::vector<std::string>> MirrorStore::Missing(const std::string& repo_key,
                                                      const std::vector<std::string>& oids) {
  if (oids.empty()) return std::vector<std::string>{};
  if (!Exists(repo_key)) return oids;
  std::string input;
  for (const auto& oid : oids) input += oid + "\n";
  CELLAR_ASSIGN_OR_RETURN(auto r, RunGit({"-C", PathFor(repo_key), "cat-file", "--batch-check"}, "", input));
  if (r.exit_code != 0) return Status::Internal("git cat-file failed: " + FirstLine(r.err));
  std::vector<std::string> missing;
  for (auto line : SplitView(r.out, '\n')) {
    if (line.ends_with(" missing")) missing.emplace_back(line.substr(0, line.size() - 8));
  }
  return missing;
}

void MirrorStore::Maintain(const std::string& repo_key) {
  // Every fetch keeps its objects as one pack (fetch.unpackLimit=1); past
  // a handful, serving slows down, so fold them into one pack with a
  // bitmap. Runs inside the repository's flight: never beside a fetch.
  std::error_code ec;
  int packs = 0;
  for (const auto& entry : fs::directory_iterator(PathFor(repo_key) + "/objects/pack", ec)) {
    if (entry.path().extension() == ".pack") ++packs;
  }
  if (packs <= kMaxPacks) return;
  auto r = RunGit({"-C", PathFor(repo_key), "repack", "-a", "-d", "-q", "--write-bitmap-index"}, "");
  if (!r.ok() || r->exit_code != 0) {
    Log(LogLevel::kWarn, "git repack failed",
        "\"repo\":\"" + JsonEscape(repo_key) + "\",\"error\":\"" +
            JsonEscape(r.ok() ? FirstLine(r->err) : r.error().message()) + "\"");
  }
}

Result<bool> MirrorStore::HasRef(const std::string& repo_key, const std::string& ref) {
  if (!Exists(repo_key)) return false;
  CELLAR_ASSIGN_OR_RETURN(auto r, RunGit({"-C", PathFor(repo_key), "rev-parse", "--verify", "--quiet", ref}, ""));
  return r.exit_code == 0;
}

void MirrorStore::MarkPublic(const std::string& repo_key, bool is_public) {
  if (!Exists(repo_key)) return;
  std::string marker = PathFor(repo_key) + "/cellar-public";
  std::error_code ec;
  if (!is_public) {
    fs::remove(marker, ec);
    return;
  }
  // Refreshed at most once a minute: this runs on every anonymous request.
  auto mtime = fs::last_write_time(marker, ec);
  if (!ec && fs::file_time_type::clock::now() - mtime < std::chrono::minutes(1)) return;
  std::ofstream(marker, std::ios::trunc) << "anonymous reads allowed by the upstream\n";
}

bool MirrorStore::FetchedWithin(const std::string& repo_key, int64_t max_age_ms) const {
  std::error_code ec;
  auto mtime = fs::last_write_time(PathFor(repo_key) + "/cellar-fetched", ec);
  if (ec) return false;
  return fs::file_time_type::clock::now() - mtime <= std::chrono::milliseconds(max_age_ms);
}

void MirrorStore::AnnounceRefs(const std::string& repo_key) {
  if (options_.ref_versions == nullptr) return;
  auto listed = RunGit({"-C", PathFor(repo_key), "for-each-ref", "--format=%(objectname) %(refname)"}, "");
  if (!listed.ok() || listed->exit_code != 0) {
    Log(LogLevel::kWarn, "git: cannot list a mirror's refs to announce them", "\"repo\":\"" + JsonEscape(repo_key) + "\"");
    return;
  }
  hash::Blake3Hasher hasher;
  hasher.Update(listed->out.data(), listed->out.size());
  Digest digest;
  hasher.Finalize(digest.bytes);
  std::ofstream(PathFor(repo_key) + "/cellar-refs", std::ios::trunc) << digest.Hex();
  Status announced = options_.ref_versions->Announce(kRefsDocumentNamespace, repo_key, {digest, NowMs()});
  (void)announced;  // Redis down: the other nodes go by their mirrors' age
}

bool MirrorStore::RefsSupersededElsewhere(const std::string& repo_key) const {
  if (options_.ref_versions == nullptr) return false;
  std::error_code ec;
  const auto fetched = fs::last_write_time(PathFor(repo_key) + "/cellar-fetched", ec);
  if (ec) return false;
  const int64_t fetched_ms = UnixMs(fetched);
  std::string own;
  std::ifstream(PathFor(repo_key) + "/cellar-refs") >> own;
  auto latest = options_.ref_versions->Latest(kRefsDocumentNamespace, repo_key);
  if (!latest.ok() || !latest->has_value()) return false;
  return (*latest)->digest.Hex() != own && (*latest)->fetched_ms > fetched_ms;
}

bool MirrorStore::PublicWithin(const std::string& repo_key, int64_t max_age_ms) const {
  std::error_code ec;
  auto mtime = fs::last_write_time(PathFor(repo_key) + "/cellar-public", ec);
  if (ec) return false;
  return fs::file_time_type::clock::now() - mtime <= std::chrono::milliseconds(max_age_ms);
}

int64_t MirrorStore::NowMs() const {
  if (options_.clock != nullptr) return options_.clock->NowUnixMs();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void MirrorStore::Measure(const std::string& repo_key) {
  uint64_t bytes = DirectoryBytes(PathFor(repo_key));
  const int64_t now = NowMs();
  std::lock_guard lock(mu_);
  auto& state = mirrors_[repo_key];
  total_bytes_ += bytes - state.bytes;
  state.bytes = bytes;
  if (state.created_ms == 0) state.created_ms = now;
}

void MirrorStore::CountServed(const std::string& repo_key) {
  std::lock_guard lock(mu_);
  ++mirrors_[repo_key].served;
}

void MirrorStore::BeginUse(const std::string& repo_key) {
  const int64_t now = NowMs();
  {
    std::lock_guard lock(mu_);
    auto& state = mirrors_[repo_key];
    ++state.users;
    ++state.uses;
    state.last_use_ms = now;
  }
  if (options_.on_use) options_.on_use(repo_key);
}

void MirrorStore::EndUse(const std::string& repo_key) {
  const int64_t now = NowMs();
  std::lock_guard lock(mu_);
  auto& state = mirrors_[repo_key];
  --state.users;
  state.last_use_ms = now;
}

std::vector<MirrorStore::MirrorInfo> MirrorStore::Snapshot() const {
  std::vector<MirrorInfo> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [repo, m] : mirrors_) {
      if (m.bytes == 0) continue;  // being built or gone
      out.push_back({repo, m.bytes, 0, m.last_use_ms, m.created_ms, m.served});
    }
  }
  for (auto& info : out) {
    std::error_code ec;
    auto mtime = fs::last_write_time(PathFor(info.repo) + "/cellar-fetched", ec);
    if (!ec) info.last_fetch_ms = UnixMs(mtime);
  }
  return out;
}

int MirrorStore::mirror_count() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(std::count_if(mirrors_.begin(), mirrors_.end(), [](const auto& m) { return m.second.bytes > 0; }));
}

EvictionResult MirrorStore::EvictIfNeeded() {
  EvictionResult result;
  if (options_.max_bytes == 0 || total_bytes_ <= options_.max_bytes) {
    result.bytes_after = total_bytes_;
    return result;
  }
  const uint64_t low = options_.max_bytes / 10 * 9;
  const int64_t now = NowMs();
  std::vector<std::string> trash;
  {
    std::lock_guard lock(mu_);
    std::vector<EvictionCandidate> idle;
    for (const auto& [key, state] : mirrors_) {
      if (state.users != 0 || state.bytes == 0) continue;
      idle.push_back({key, state.last_use_ms, now - state.created_ms > options_.max_age_ms,
                      static_cast<double>(state.bytes) / static_cast<double>(state.uses + 1)});
    }
    OrderForEviction(idle, options_.eviction_policy);
    for (const EvictionCandidate& candidate : idle) {
      const std::string& key = candidate.key;
      if (total_bytes_ <= low) break;
      // Renamed under the lock: a request arriving now sees no mirror and
      // rebuilds it; readers that already opened files keep them.
      std::string to = options_.root + "/trash/" + std::to_string(++tmp_counter_);
      std::error_code ec;
      fs::rename(PathFor(key), to, ec);
      if (ec) continue;
      total_bytes_ -= mirrors_[key].bytes;
      mirrors_.erase(key);
      trash.push_back(to);
      ++result.evicted;
      if (options_.on_evicted) options_.on_evicted();
      Log(LogLevel::kInfo, "git mirror evicted", "\"repo\":\"" + JsonEscape(key) + "\"");
    }
  }
  std::error_code ec;
  for (const auto& dir : trash) fs::remove_all(dir, ec);
  result.bytes_after = total_bytes_;
  return result;
}

}  // namespace cellar::git
