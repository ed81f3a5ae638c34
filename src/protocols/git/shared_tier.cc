#include "protocols/git/shared_tier.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "base/log.h"
#include "base/strings.h"

namespace cellar::git {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

struct BundleRef {
  std::string blob;  // BLAKE3 hex of the bundle file
  uint64_t size = 0;
};

struct Manifest {
  std::vector<BundleRef> bundles;             // full first, then incrementals, in order
  std::map<std::string, std::string> refs;    // name -> object id
  std::string head;                           // symbolic HEAD target, may be empty
};

constexpr int kManifestVersion = 1;

std::string Serialize(const Manifest& m) {
  Json bundles = Json::array();
  for (const BundleRef& b : m.bundles) bundles.push_back({{"blake3", b.blob}, {"size", b.size}});
  return Json{{"version", kManifestVersion}, {"bundles", bundles}, {"refs", m.refs}, {"head", m.head}}.dump();
}

Result<Manifest> Parse(const std::string& name, const std::string& text) {
  auto bad = [&](const std::string& why) { return Status::Corruption("manifest " + name + ": " + why); };
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return bad("not a JSON object");
  // Every member is checked before it is read: the bucket is shared, and a
  // damaged or hand-edited manifest must be an error value, never a throw.
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || version->get<int64_t>() != kManifestVersion) {
    return bad("unknown version");
  }
  auto bundles = j.find("bundles");
  auto refs = j.find("refs");
  if (bundles == j.end() || refs == j.end() || !bundles->is_array() || bundles->empty() || !refs->is_object()) {
    return bad("no bundles or refs");
  }
  Manifest m;
  for (const Json& b : *bundles) {
    if (!b.is_object()) return bad("bad bundle entry");
    auto blob = b.find("blake3");
    auto size = b.find("size");
    if (blob == b.end() || size == b.end() || !blob->is_string() || !size->is_number_unsigned()) {
      return bad("bad bundle entry");
    }
    BundleRef ref{blob->get<std::string>(), size->get<uint64_t>()};
    if (!Digest::FromHex(ref.blob).ok()) return bad("bad bundle digest");
    m.bundles.push_back(std::move(ref));
  }
  for (const auto& [ref, oid] : refs->items()) {
    if (!oid.is_string() || !ref.starts_with("refs/")) return bad("bad ref entry");
    std::string id = oid.get<std::string>();
    if ((id.size() != 40 && id.size() != 64) || !IsLowerHex(id)) return bad("bad object id for " + ref);
    m.refs[ref] = std::move(id);
  }
  auto head = j.find("head");
  if (head != j.end() && head->is_string()) m.head = head->get<std::string>();
  return m;
}

// A temporary file under `dir`, removed when this goes out of scope.
class TempFile {
 public:
  explicit TempFile(const std::string& dir) {
    static std::atomic<uint64_t> counter{0};
    path_ = dir + "/bundle-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".bundle";
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

Status GitFailed(const std::string& what, const Result<env::RunResult>& r) {
  if (!r.ok()) return r.error();
  return Status::Internal(what + " failed: " + FirstLine(r->err));
}

}  // namespace

SharedGitTier::SharedGitTier(store::BlobStore& bundles, store::Documents& manifests, env::ProcessRunner& runner,
                             SharedTierOptions options)
    : bundles_(bundles), manifests_(manifests), runner_(runner), options_(std::move(options)) {}

Result<env::RunResult> SharedGitTier::Git(std::vector<std::string> args, const std::string& input) {
  env::SubprocessOptions o;
  o.argv = {"git"};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = options_.git_env;
  CELLAR_ASSIGN_OR_RETURN(env::RunResult r, runner_.Run(std::move(o), input, options_.git_timeout));
  if (r.timed_out) return Status::DeadlineExceeded("git " + args[0] + " did not finish in time");
  return r;
}

namespace {

// Streams the file at `path` into a new blob.
Result<store::BlobInfo> StoreFile(store::BlobStore& store, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  auto close_fd = [fd] { ::close(fd); };
  Result<std::unique_ptr<store::BlobWriter>> writer = store.NewWriter();
  if (!writer.ok()) {
    close_fd();
    return writer.error();
  }
  std::vector<std::byte> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error = Status::FromErrno(errno, "read " + path);
      close_fd();
      return error;
    }
    if (n == 0) break;
    if (Status s = (*writer)->Write(std::span(buf.data(), static_cast<size_t>(n))); !s.ok()) {
      close_fd();
      return s;
    }
  }
  close_fd();
  return (*writer)->Commit();
}

// Writes blob `hex` to the file at `path`; kNotFound when the store lacks it.
Status FetchBlob(store::BlobStore& store, const BundleRef& bundle, const std::string& path) {
  CELLAR_ASSIGN_OR_RETURN(Digest digest, Digest::FromHex(bundle.blob));
  CELLAR_ASSIGN_OR_RETURN(auto reader, store.Open(digest));
  if (!reader) return Status::NotFound("bundle " + bundle.blob + " is missing from the bucket");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + path);
  std::vector<std::byte> buf(1 << 20);
  Status status;
  uint64_t total = 0;
  while (status.ok()) {
    Result<size_t> n = (*reader)->Read(buf);
    if (!n.ok()) {
      status = n.error();
      break;
    }
    if (*n == 0) break;
    total += *n;
    for (size_t done = 0; done < *n && status.ok();) {
      ssize_t w = ::write(fd, buf.data() + done, *n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) status = Status::FromErrno(errno, "write " + path);
      else done += static_cast<size_t>(w);
    }
  }
  ::close(fd);
  if (status.ok() && total != bundle.size) {
    status = Status::Corruption("bundle " + bundle.blob + " is " + std::to_string(total) + " bytes, the manifest says " +
                                std::to_string(bundle.size));
  }
  return status;
}

}  // namespace

Result<SharedGitTier::Refs> SharedGitTier::ReadRefs(const std::string& repo_path) {
  CELLAR_ASSIGN_OR_RETURN(env::RunResult listed,
                          Git({"-C", repo_path, "for-each-ref", "--format=%(objectname) %(refname)"}));
  if (listed.exit_code != 0) return GitFailed("git for-each-ref", listed);
  Refs refs;
  for (std::string_view line : SplitView(listed.out, '\n')) {
    size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    refs[std::string(line.substr(space + 1))] = std::string(line.substr(0, space));
  }
  return refs;
}

Result<PublishResult> SharedGitTier::Publish(const std::string& repo_key, const std::string& repo_path) {
  const std::string name = ManifestName(repo_key);
  // What the mirror holds now.
  Manifest now;
  CELLAR_ASSIGN_OR_RETURN(now.refs, ReadRefs(repo_path));
  if (now.refs.empty()) return Status::InvalidArgument("repository " + repo_key + " has no refs to publish");
  Result<env::RunResult> head = Git({"-C", repo_path, "symbolic-ref", "-q", "HEAD"});
  if (head.ok() && head->exit_code == 0) now.head = FirstLine(head->out);

  // What the bucket holds.
  CELLAR_ASSIGN_OR_RETURN(std::optional<std::string> stored, manifests_.Get(name));
  std::optional<Manifest> before;
  if (stored) {
    Result<Manifest> parsed = Parse(name, *stored);
    if (parsed.ok()) {
      before = *std::move(parsed);
    } else {
      Log(LogLevel::kWarn, "replacing a damaged git manifest: " + parsed.error().ToString());
    }
  }
  if (before && before->refs == now.refs && before->head == now.head) return PublishResult{};

  PublishResult result;
  const bool incremental = before && static_cast<int>(before->bundles.size()) <= options_.max_incrementals;
  std::vector<std::string> args = {"-C", repo_path, "bundle", "create", "-q"};
  TempFile bundle(options_.tmp_dir);
  args.push_back(bundle.path());
  args.push_back("--all");
  std::string stdin_revs;
  if (incremental) {
    // Leave out what the bucket's bundles already carry: everything
    // reachable from its refs (the ones this mirror still has).
    std::string ids;
    for (const auto& [ref, oid] : before->refs) ids += oid + "\n";
    CELLAR_ASSIGN_OR_RETURN(env::RunResult known,
                            Git({"-C", repo_path, "cat-file", "--batch-check=%(objectname)"}, ids));
    for (std::string_view line : SplitView(known.out, '\n')) {
      if (!line.empty() && !line.ends_with(" missing")) stdin_revs += "^" + std::string(line) + "\n";
    }
    if (!stdin_revs.empty()) args.push_back("--stdin");
  }
  CELLAR_ASSIGN_OR_RETURN(env::RunResult made, Git(args, stdin_revs));
  Manifest next = now;
  if (made.exit_code != 0) {
    // Refs moved or went away but no object is new: nothing to bundle.
    if (!incremental || made.err.find("empty bundle") == std::string::npos) return GitFailed("git bundle create", made);
    // Only refs that did not move while git looked: one a fetch moved meanwhile
    // might name an object the bucket lacks.
    CELLAR_ASSIGN_OR_RETURN(Refs after, ReadRefs(repo_path));
    next.refs.clear();
    for (const auto& [ref, oid] : after) {
      auto then = now.refs.find(ref);
      if (then != now.refs.end() && then->second == oid) next.refs[ref] = oid;
    }
    next.bundles = before->bundles;
    result.kind = PublishResult::Kind::kRefsOnly;
  } else {
    // The refs: those the bundle carries, plus those it leaves out because
    // their commits are in the bucket already (an incremental bundle lists
    // only refs whose tips it holds). A ref left out counts only if it was
    // the same before and after the bundle was made: a fetch may move refs
    // meanwhile, and the manifest must never name an object no bundle has.
    CELLAR_ASSIGN_OR_RETURN(env::RunResult heads, Git({"bundle", "list-heads", bundle.path()}));
    if (heads.exit_code != 0) return GitFailed("git bundle list-heads", heads);
    CELLAR_ASSIGN_OR_RETURN(Refs after, ReadRefs(repo_path));
    next.refs.clear();
    for (const auto& [ref, oid] : after) {
      auto then = now.refs.find(ref);
      if (then != now.refs.end() && then->second == oid) next.refs[ref] = oid;
    }
    for (std::string_view line : SplitView(heads.out, '\n')) {
      size_t space = line.find(' ');
      if (space == std::string_view::npos || !line.substr(space + 1).starts_with("refs/")) continue;
      next.refs[std::string(line.substr(space + 1))] = std::string(line.substr(0, space));
    }
    CELLAR_ASSIGN_OR_RETURN(store::BlobInfo info, StoreFile(bundles_, bundle.path()));
    if (incremental) next.bundles = before->bundles;
    next.bundles.push_back(BundleRef{info.digest.Hex(), info.size});
    result.kind = incremental ? PublishResult::Kind::kIncremental : PublishResult::Kind::kFull;
    result.bundle_bytes = info.size;
  }
  // Last: the manifest names only bundles already in the bucket.
  CELLAR_RETURN_IF_ERROR(manifests_.Put(name, Serialize(next)));
  return result;
}

Result<RestoreResult> SharedGitTier::Restore(const std::string& repo_key, const std::string& repo_path) {
  const std::string name = ManifestName(repo_key);
  CELLAR_ASSIGN_OR_RETURN(std::optional<std::string> stored, manifests_.Get(name));
  if (!stored) return Status::NotFound("the bucket has no copy of " + repo_key);
  CELLAR_ASSIGN_OR_RETURN(Manifest manifest, Parse(name, *stored));
  RestoreResult result;
  for (const BundleRef& ref : manifest.bundles) {
    TempFile file(options_.tmp_dir);
    CELLAR_RETURN_IF_ERROR(FetchBlob(bundles_, ref, file.path()));
    // Into a namespace of its own: the real refs are set from the manifest
    // below, all at once.
    CELLAR_ASSIGN_OR_RETURN(env::RunResult fetched,
                            Git({"-C", repo_path, "fetch", "-q", "--no-tags", "--no-write-fetch-head", file.path(),
                                 "+refs/*:refs/cellar-restore/*"}));
    if (fetched.exit_code != 0) return GitFailed("git fetch from a bundle", fetched);
    ++result.bundles;
    result.bundle_bytes += ref.size;
  }
  // Set the refs as the manifest lists them and drop the staging ones.
  CELLAR_ASSIGN_OR_RETURN(env::RunResult staged,
                          Git({"-C", repo_path, "for-each-ref", "--format=%(refname)", "refs/cellar-restore/"}));
  std::string updates = "start\n";
  for (std::string_view ref : SplitView(staged.out, '\n')) {
    if (!ref.empty()) updates += "delete " + std::string(ref) + "\n";
  }
  for (const auto& [ref, oid] : manifest.refs) updates += "update " + ref + " " + oid + "\n";
  updates += "prepare\ncommit\n";
  CELLAR_ASSIGN_OR_RETURN(env::RunResult set, Git({"-C", repo_path, "update-ref", "--stdin"}, updates));
  if (set.exit_code != 0) return GitFailed("git update-ref", set);
  if (!manifest.head.empty()) (void)Git({"-C", repo_path, "symbolic-ref", "HEAD", manifest.head});
  return result;
}

}  // namespace cellar::git
