#include "protocols/git/git_adapter.h"

#include <algorithm>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "http/offload.h"
#include "trace/tracer.h"

// GCC 12 destroys the temporaries of a co_await expression twice, so every
// lambda handed to RunBlocking below captures only pointers and references
// (to locals of the calling coroutine, which outlive the call).

namespace cellar::git {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;

namespace {
constexpr std::string_view kPrefix = "/git/";
constexpr const char* kAdvertisementType = "application/x-git-upload-pack-advertisement";
constexpr const char* kResultType = "application/x-git-upload-pack-result";
constexpr size_t kMaxRefListing = 256 << 20;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

void NoCache(http::Exchange& ex) {
  ex.SetHeader("Cache-Control", "no-cache, max-age=0, must-revalidate");
  ex.SetHeader("Expires", "Fri, 01 Jan 1980 00:00:00 GMT");
  ex.SetHeader("Pragma", "no-cache");
}
}  // namespace

GitAdapter::GitAdapter(protocols::ProtocolContext ctx, env::HttpClient& http, env::ProcessRunner& runner,
                       MirrorStore& mirrors, GitOptions options, GitMetrics& metrics, metrics::Registry& registry)
    : ctx_(ctx), http_(http), runner_(runner), mirrors_(mirrors), options_(std::move(options)), metrics_(metrics) {
  registry.AddCollectHook([this] {
    metrics_.mirror_bytes.With({}).Set(static_cast<double>(mirrors_.total_bytes()));
    metrics_.mirrors.With({}).Set(mirrors_.mirror_count());
    metrics_.packs_in_flight.With({}).Set(packs_in_flight_.load());
  });
}

void GitAdapter::RegisterRoutes(http::Router& router) {
  router.Add(std::string(kPrefix), "git", [this](http::Exchange& ex) { return Handle(ex); });
  router.Add("/api/v1/git/warmup", "git_warmup", [this](http::Exchange& ex) { return HandleWarmup(ex); });
}

awaitable<void> GitAdapter::HandleWarmup(http::Exchange& ex) {
  if (auto a = protocols::Authorize(ctx_, ex, auth::kScopeAdmin, "git"); !a.ok()) {
    co_return co_await protocols::RespondAuthError(ex, a.error());
  }
  if (ex.method() != verb::post) {
    ex.SetHeader("Allow", "POST");
    co_return co_await protocols::RespondError(ex, 405, "use POST");
  }
  if (!warmer_) co_return co_await protocols::RespondError(ex, 404, "git warm-up is not configured");
  auto body = co_await ex.ReadBodyToString(1 << 20);
  if (!body.ok()) co_return co_await protocols::RespondError(ex, 400, body.error().message());
  std::vector<WarmupRepository> repos = warmer_->config().repositories;
  if (!TrimWhitespace(*body).empty()) {
    auto parsed = ParseWarmupJson(*body);
    if (!parsed.ok()) co_return co_await protocols::RespondError(ex, 400, parsed.error().message());
    repos = std::move(*parsed);
  }
  Warmer* warmer = warmer_;
  auto results = co_await http::RunBlocking(ctx_.upstream_pool(), [warmer, &repos] { return warmer->Run(repos); });
  bool all_ok = std::all_of(results.begin(), results.end(), [](const auto& r) { return r.ok; });
  const unsigned status = all_ok ? 200 : 502;
  co_await ex.Respond(status, WarmupReportJson(results), "application/json");
}

void GitAdapter::Count(const std::string& kind, const std::string& result) {
  metrics_.requests.With({kind, result}).Inc();
}

int64_t GitAdapter::NowMs() const { return ctx_.cache.clock().NowUnixMs(); }

std::string GitAdapter::UpstreamUrl(const GitTarget& target) const {
  return options_.upstream_scheme + "://" + target.host + "/" + target.path;
}

std::string GitAdapter::Authorization(const http::Exchange& ex) const {
  auto h = ex.Header("Authorization");
  return h ? std::string(*h) : std::string();
}

bool GitAdapter::IsV2(const http::Exchange& ex) const {
  auto h = ex.Header("Git-Protocol");
  return h && h->find("version=2") != std::string_view::npos;
}

awaitable<void> GitAdapter::Handle(http::Exchange& ex) {
  // The server collapses repeated slashes for every route; a repository
  // path with an empty segment is refused here all the same.
  std::string_view raw = ex.target().substr(0, ex.target().find('?'));
  if (raw.find("//") != std::string_view::npos) {
    Count("other", "refused");
    co_return co_await protocols::RespondError(ex, 400, "bad repository path: empty segment");
  }
  auto target = ParseGitPath(std::string_view(ex.path()).substr(kPrefix.size()), ex.QueryParam("service"));
  if (!target.ok()) {
    Count("other", "refused");
    const unsigned status = target.error().code() == Code::kNotFound ? 404 : 400;
    co_return co_await protocols::RespondError(ex, status, target.error().message());
  }
  if (std::find(options_.allowed_hosts.begin(), options_.allowed_hosts.end(), target->host) ==
      options_.allowed_hosts.end()) {
    Count("other", "refused");
    co_return co_await protocols::RespondError(
        ex, 403, "cellar does not proxy git host '" + target->host + "' (see --git-allowed-hosts)");
  }
  if (target->receive) {
    Count("other", "refused");
    co_return co_await protocols::RespondError(
        ex, 403, "cellar is a read-only git cache: push to the upstream directly (url.<upstream>.pushInsteadOf)");
  }
  if (target->service == GitService::kInfoRefs && ex.method() == verb::get) {
    co_return co_await HandleInfoRefs(ex, *target);
  }
  if (target->service == GitService::kUploadPack && ex.method() == verb::post) {
    co_return co_await HandleUploadPack(ex, *target);
  }
  ex.SetHeader("Allow", target->service == GitService::kInfoRefs ? "GET" : "POST");
  co_await protocols::RespondError(ex, 405, "method not allowed");
}

env::HttpRequest GitAdapter::UpstreamRequest(const http::Exchange& ex, const GitTarget& target, bool post,
                                             const std::string& body, bool force_v2) const {
  env::HttpRequest req;
  req.url = UpstreamUrl(target) + (post ? "/git-upload-pack" : "/info/refs?service=git-upload-pack");
  req.method = post ? "POST" : "GET";
  req.follow_redirects = true;
  if (auto a = ex.Header("Authorization")) req.headers.emplace_back("Authorization", std::string(*a));
  if (force_v2) req.headers.emplace_back("Git-Protocol", "version=2");
  else if (auto p = ex.Header("Git-Protocol")) req.headers.emplace_back("Git-Protocol", std::string(*p));
  // Hosts such as GitHub speak smart HTTP only to a git/ user agent.
  auto ua = ex.Header("User-Agent");
  req.headers.emplace_back("User-Agent", ua && ua->starts_with("git/") ? std::string(*ua) : "git/2.39.5 (cellar)");
  if (post) {
    req.headers.emplace_back("Content-Type", "application/x-git-upload-pack-request");
    req.headers.emplace_back("Accept", kResultType);
    req.body = body;
  }
  return req;
}

awaitable<GitAdapter::UpstreamAnswer> GitAdapter::AskUpstream(http::Exchange& ex, const GitTarget& target,
                                                             bool post, const std::string& body, bool force_v2) {
  env::HttpRequest req = UpstreamRequest(ex, target, post, body, force_v2);
  env::HttpClient* http = &http_;
  auto answer = co_await protocols::RunUpstream(ctx_, ex, [http, &req]() -> UpstreamAnswer {
    UpstreamAnswer a;
    auto resp = http->Send(req);
    if (!resp.ok()) {
      a.error = resp.error().message();
      return a;
    }
    a.status = (*resp)->head().status;
    a.content_type = (*resp)->head().Header("Content-Type").value_or("");
    a.www_authenticate = (*resp)->head().Header("WWW-Authenticate").value_or("");
    auto all = env::ReadAll(**resp, kMaxRefListing);
    if (!all.ok()) {
      a.error = all.error().message();
      return a;
    }
    a.body = std::move(*all);
    a.reachable = a.status < 500;
    if (!a.reachable) a.error = "upstream answered HTTP " + std::to_string(a.status);
    return a;
  });
  co_return answer;
}

awaitable<void> GitAdapter::RelayRefusal(http::Exchange& ex, const UpstreamAnswer& answer, const std::string& kind) {
  Count(kind, "denied");
  if (!answer.www_authenticate.empty()) ex.SetHeader("WWW-Authenticate", answer.www_authenticate);
  std::string type = answer.content_type.empty() ? "text/plain" : answer.content_type;
  co_await ex.Respond(static_cast<unsigned>(answer.status), answer.body, type);
}

Result<std::string> GitAdapter::LocalAdvertisement(const std::string& dir, bool v2) {
  env::SubprocessOptions o;
  o.argv = {"git", "upload-pack", "--stateless-rpc", "--advertise-refs", dir};
  o.env = mirrors_.GitEnv("", v2 ? "version=2" : "");
  CELLAR_ASSIGN_OR_RETURN(auto r, runner_.Run(std::move(o), "", std::chrono::seconds(60), kMaxRefListing));
  if (r.exit_code != 0) return Status::Internal("git upload-pack --advertise-refs failed: " + r.err);
  if (v2) return r.out;
  return EncodePktLine("# service=git-upload-pack\n") + "0000" + r.out;
}

void GitAdapter::RecordDecision(const GitTarget& target, const std::string& authorization, bool accepted) {
  if (accepted) decisions_.Accept(target.repo_key, authorization, NowMs());
  else decisions_.Reject(target.repo_key, authorization);
  if (authorization.empty()) mirrors_.MarkPublic(target.repo_key, accepted);
}

bool GitAdapter::StaleAllowed(const GitTarget& target, const std::string& authorization) const {
  if (!options_.serve_stale || !mirrors_.Exists(target.repo_key)) return false;
  return decisions_.AcceptedWithin(target.repo_key, authorization, NowMs(), options_.max_stale_ms) ||
         mirrors_.PublicWithin(target.repo_key, options_.max_stale_ms);
}

awaitable<bool> GitAdapter::StaleOr502(http::Exchange& ex, const GitTarget& target, const std::string& authorization,
                                       const std::string& kind, const std::string& error) {
  if (StaleAllowed(target, authorization)) co_return true;
  Count(kind, "error");
  co_await protocols::RespondError(
      ex, 502, "upstream " + target.host + " is unreachable (" + error + ") and cellar has no usable copy");
  co_return false;
}

void GitAdapter::MarkStale(http::Exchange& ex, const GitTarget& target) {
  ex.SetHeader("X-Cellar-Stale", "upstream unreachable");
  Log(LogLevel::kWarn, "git serving stale refs", "\"repo\":\"" + JsonEscape(target.repo_key) + "\"");
}

awaitable<bool> GitAdapter::RefsFromMirror(const GitTarget& target, const std::string& authorization) {
  if (options_.ref_ttl_ms <= 0 || !mirrors_.FetchedWithin(target.repo_key, options_.ref_ttl_ms) ||
      !decisions_.AcceptedWithin(target.repo_key, authorization, NowMs(), options_.auth_ttl_ms)) {
    co_return false;
  }
  if (!mirrors_.TracksFleetRefs()) co_return true;
  MirrorStore* mirrors = &mirrors_;
  const std::string* key = &target.repo_key;
  const bool superseded = co_await http::RunBlocking(
      ctx_.upstream_pool(), [mirrors, key] { return mirrors->RefsSupersededElsewhere(*key); });
  if (superseded) {
    Log(LogLevel::kInfo, "git refs superseded: another node fetched newer ones, asking the upstream",
        "\"repo\":\"" + JsonEscape(target.repo_key) + "\"");
  }
  co_return !superseded;
}

awaitable<void> GitAdapter::HandleInfoRefs(http::Exchange& ex, const GitTarget& target) {
  const bool v2 = IsV2(ex);
  const std::string auth = Authorization(ex);
  if (co_await RefsFromMirror(target, auth)) {
    std::string dir = mirrors_.PathFor(target.repo_key);
    auto ad = co_await http::RunBlocking(ctx_.upstream_pool(), [this, &dir, v2] { return LocalAdvertisement(dir, v2); });
    if (ad.ok()) {
      NoCache(ex);
      Count("info_refs", "ttl");
      co_return (void)co_await ex.Respond(200, *ad, kAdvertisementType);
    }
  }
  UpstreamAnswer answer = co_await AskUpstream(ex, target, /*post=*/false, "", /*force_v2=*/false);
  NoCache(ex);
  if (!answer.reachable) {
    if (!co_await StaleOr502(ex, target, auth, "info_refs", answer.error)) co_return;
    std::string dir = mirrors_.PathFor(target.repo_key);
    auto ad = co_await http::RunBlocking(ctx_.upstream_pool(), [this, &dir, v2] { return LocalAdvertisement(dir, v2); });
    if (!ad.ok()) {
      Count("info_refs", "error");
      // The detail names the mirror's directory and git's own stderr: it
      // goes to the log, the client gets a fixed answer.
      Log(LogLevel::kError, "git local advertisement failed",
          "\"repo\":\"" + JsonEscape(target.repo_key) + "\",\"error\":\"" + JsonEscape(ad.error().ToString()) + "\"");
      co_return co_await protocols::RespondError(ex, 500, "cellar could not read its mirror of this repository (details in its log)");
    }
    Count("info_refs", "stale");
    MarkStale(ex, target);
    co_return (void)co_await ex.Respond(200, *ad, kAdvertisementType);
  }
  if (answer.status != 200) {
    RecordDecision(target, auth, false);
    co_return co_await RelayRefusal(ex, answer, "info_refs");
  }
  RecordDecision(target, auth, true);
  const bool upstream_v2 = answer.body.starts_with("000eversion 2");
  if (v2 && upstream_v2) {
    // Capabilities must be ones the local upload-pack honours.
    std::string dir = mirrors_.Exists(target.repo_key) ? mirrors_.PathFor(target.repo_key) : mirrors_.TemplatePath();
    auto ad = co_await http::RunBlocking(ctx_.upstream_pool(), [this, &dir] { return LocalAdvertisement(dir, true); });
    if (ad.ok()) {
      Count("info_refs", "ok");
      co_return (void)co_await ex.Respond(200, *ad, kAdvertisementType);
    }
  }
  // v0: the upstream's ref list is the truth; the pack request that follows
  // is served from the mirror once it has those objects.
  Count("info_refs", "ok");
  co_await ex.Respond(200, answer.body, kAdvertisementType);
}

awaitable<bool> GitAdapter::PassGate(http::Exchange& ex, const GitTarget& target, const std::string& kind,
                                     bool* stale) {
  const std::string auth = Authorization(ex);
  if (decisions_.AcceptedWithin(target.repo_key, auth, NowMs(), options_.auth_ttl_ms)) co_return true;
  UpstreamAnswer answer = co_await AskUpstream(ex, target, /*post=*/false, "", /*force_v2=*/true);
  if (!answer.reachable) {
    if (StaleAllowed(target, auth)) {
      *stale = true;
      co_return true;
    }
    Count(kind, "error");
    co_await protocols::RespondError(ex, 502, "upstream " + target.host + " is unreachable (" + answer.error +
                                                  "); cellar cannot check access to this repository");
    co_return false;
  }
  if (answer.status != 200) {
    RecordDecision(target, auth, false);
    co_await RelayRefusal(ex, answer, kind);
    co_return false;
  }
  RecordDecision(target, auth, true);
  co_return true;
}

awaitable<void> GitAdapter::HandleUploadPack(http::Exchange& ex, const GitTarget& target) {
  auto raw = co_await ex.ReadBodyToString(options_.max_request_bytes);
  if (!raw.ok()) {
    Count("other", "refused");
    const unsigned status = raw.error().code() == Code::kResourceExhausted ? 413 : 400;
    co_return co_await protocols::RespondError(ex, status, raw.error().message());
  }
  std::string body = std::move(*raw);
  if (auto enc = ex.Header("Content-Encoding"); enc && ToLower(*enc) == "gzip") {
    auto inflated = Gunzip(body, options_.max_request_bytes);
    if (!inflated.ok()) {
      Count("other", "refused");
      co_return co_await protocols::RespondError(ex, 400, inflated.error().message());
    }
    body = std::move(*inflated);
  }
  const bool v2 = IsV2(ex);
  auto request = ParseUploadRequest(body, v2);
  if (!request.ok()) {
    Count("other", "refused");
    co_return co_await protocols::RespondError(ex, 400, "bad upload-pack request: " + request.error().message());
  }
  if (request->command == "ls-refs") co_return co_await HandleLsRefs(ex, target, body);
  co_await HandleFetch(ex, target, body, *request);
}

awaitable<void> GitAdapter::HandleLsRefs(http::Exchange& ex, const GitTarget& target, const std::string& body) {
  const std::string auth = Authorization(ex);
  if (co_await RefsFromMirror(target, auth)) {
    co_return co_await ServeFromMirror(ex, mirrors_.PathFor(target.repo_key), body, "ls_refs", "ttl");
  }
  UpstreamAnswer answer = co_await AskUpstream(ex, target, /*post=*/true, body, /*force_v2=*/false);
  NoCache(ex);
  if (!answer.reachable) {
    if (!co_await StaleOr502(ex, target, auth, "ls_refs", answer.error)) co_return;
    MarkStale(ex, target);
    co_return co_await ServeFromMirror(ex, mirrors_.PathFor(target.repo_key), body, "ls_refs", "stale");
  }
  if (answer.status != 200) {
    RecordDecision(target, auth, false);
    co_return co_await RelayRefusal(ex, answer, "ls_refs");
  }
  RecordDecision(target, auth, true);
  Count("ls_refs", "proxied");
  // The upstream's refs are the answer. If the mirror lacks any of their
  // objects, start the repository's fetch now, while the client reads.
  auto exec = co_await asio::this_coro::executor;
  asio::co_spawn(exec,
                 RefreshIfBehind(target, OidsInLsRefs(answer.body), auth,
                                 trace::CarriedSpan(ex.tracer(), ex.trace_context())),
                 asio::detached);
  std::string type = answer.content_type.empty() ? std::string(kResultType) : answer.content_type;
  co_await ex.Respond(200, answer.body, type);
}

awaitable<void> GitAdapter::RefreshIfBehind(GitTarget target, std::vector<std::string> oids, std::string auth,
                                            std::optional<trace::CurrentSpan> trace) {
  MirrorStore* mirrors = &mirrors_;
  auto missing = co_await http::RunBlocking(ctx_.upstream_pool(), [mirrors, &target, &oids] {
    return mirrors->Missing(target.repo_key, oids);
  });
  if (missing.ok() && missing->empty()) co_return;
  (void)co_await UpdateMirror(target, auth, trace);
}

awaitable<Status> GitAdapter::UpdateMirror(const GitTarget& target, const std::string& authorization,
                                            std::optional<trace::CurrentSpan> trace) {
  MirrorStore* mirrors = &mirrors_;
  std::string key = target.repo_key;
  std::string url = UpstreamUrl(target);
  trace::Tracer* tracer = trace ? trace->tracer : nullptr;
  const trace::TraceContext* context = trace ? &trace->context : nullptr;
  co_return co_await http::RunBlocking(ctx_.upstream_pool(), [mirrors, &key, &url, &authorization, tracer, context] {
    // In the scope, so the warning carries the request's trace ids too.
    trace::CurrentScope scope(tracer, context);
    Status s = mirrors->Update(key, url, authorization);
    if (!s.ok()) {
      Log(LogLevel::kWarn, "git mirror update failed",
          "\"repo\":\"" + JsonEscape(key) + "\",\"error\":\"" + JsonEscape(s.message()) + "\"");
    }
    return s;
  });
}

awaitable<void> GitAdapter::HandleFetch(http::Exchange& ex, const GitTarget& target, const std::string& body,
                                        const UploadRequest& request) {
  const std::string kind = request.command == "fetch" ? "fetch" : "other";
  bool stale = false;
  if (!co_await PassGate(ex, target, kind, &stale)) co_return;
  const std::string auth = Authorization(ex);
  mirrors_.BeginUse(target.repo_key);
  std::string result = "hit";
  std::string key = target.repo_key;
  MirrorStore* mirrors = &mirrors_;
  auto missing_now = [&]() -> awaitable<Result<std::vector<std::string>>> {
    std::vector<std::string> wants = request.wants;
    co_return co_await http::RunBlocking(ctx_.upstream_pool(), [mirrors, &key, &wants] {
      return mirrors->Missing(key, wants);
    });
  };
  auto missing = co_await missing_now();
  // A mirror that does not exist yet, or lacks wanted objects: one shared
  // fetch (want-refs name refs, not objects: always fetch for those).
  const bool need_update = !mirrors_.Exists(key) || !missing.ok() || !missing->empty() || !request.want_refs.empty();
  if (need_update && !stale) {
    Status updated = co_await UpdateMirror(target, auth, trace::CarriedSpan(ex.tracer(), ex.trace_context()));
    if (updated.ok()) result = "fetched";
    missing = co_await missing_now();
  }
  if (missing.ok() && !missing->empty() && mirrors_.Exists(key) && !stale) {
    // Commits no ref points at (a PR head asked for by id): fetch and pin.
    std::vector<std::string> ids = *missing;
    std::string url = UpstreamUrl(target);
    (void)co_await protocols::RunUpstream(ctx_, ex, [mirrors, &key, &url, &ids, &auth] {
      return mirrors->FetchObjects(key, url, ids, auth);
    });
    result = "fetched";
    missing = co_await missing_now();
  }
  // A client's fetch (its pack) is what the dashboard counts as a git hit
  // or miss; ls-refs and the like are other requests.
  const bool fetch = request.command == "fetch";
  if (!mirrors_.Exists(key) || !missing.ok() || !missing->empty()) {
    mirrors_.EndUse(key);
    if (fetch) ex.set_cache_result("uncached");
    if (stale) {
      Count(kind, "error");
      co_return co_await protocols::RespondError(
          ex, 502, "upstream " + target.host + " is unreachable and the cached mirror lacks the wanted objects");
    }
    co_return co_await ProxyUploadPack(ex, target, body);
  }
  if (stale) {
    result = "stale";
    ex.SetHeader("X-Cellar-Stale", "upstream unreachable");
  }
  if (fetch) {
    mirrors_.CountServed(key);
    ex.set_cache_result(result == "fetched" ? "fill" : result);
  }
  co_await ServeFromMirror(ex, mirrors_.PathFor(key), body, kind, result);
  mirrors_.EndUse(key);
}

awaitable<void> GitAdapter::ServeFromMirror(http::Exchange& ex, const std::string& dir, const std::string& body,
                                            const std::string& kind, const std::string& result) {
  if (packs_in_flight_.fetch_add(1) >= options_.max_pack_generations) {
    packs_in_flight_.fetch_sub(1);
    Count(kind, "busy");
    ex.SetHeader("Retry-After", "5");
    co_return co_await protocols::RespondError(ex, 503, "too many pack generations in flight; retry shortly");
  }
  // The pack generation, from spawning git to its exit, as a span of the
  // request's trace.
  trace::ScopedSpan span(ex.tracer(), ex.trace_context(), "git upload-pack");
  span.Set("process.executable.name", "git");
  span.Set("cellar.git.command", "upload-pack");
  env::SubprocessOptions o;
  o.argv = {"git", "upload-pack", "--stateless-rpc", "--timeout=" + std::to_string(options_.upload_pack_timeout_s), dir};
  auto proto = ex.Header("Git-Protocol");
  o.env = mirrors_.GitEnv("", proto ? std::string(*proto) : std::string());
  o.pipe_stdin = true;
  o.pipe_stdout = true;
  auto spawned = runner_.Spawn(o);
  if (!spawned.ok()) {
    packs_in_flight_.fetch_sub(1);
    Count(kind, "error");
    span.SetError(spawned.error().message());
    Log(LogLevel::kError, "git upload-pack could not start", "\"error\":\"" + JsonEscape(spawned.error().ToString()) + "\"");
    co_return co_await protocols::RespondError(ex, 500, "cellar could not run git upload-pack (details in its log)");
  }
  std::unique_ptr<env::Process> proc = std::move(*spawned);
  auto exec = co_await asio::this_coro::executor;
  // The request goes in from a coroutine of its own, so a large request
  // and a response that starts early cannot block each other.
  auto input = std::make_shared<asio::posix::stream_descriptor>(exec, proc->ReleaseStdin());
  auto request = std::make_shared<std::string>(body);
  asio::co_spawn(
      exec,
      [input, request]() -> awaitable<void> {
        (void)co_await asio::async_write(*input, asio::buffer(*request), kTuple);
        boost::system::error_code ignored;
        input->close(ignored);
      },
      asio::detached);
  asio::posix::stream_descriptor output(exec, proc->ReleaseStdout());
  asio::posix::stream_descriptor* out = &output;
  uint64_t bytes = 0;
  uint64_t* served = &bytes;
  http::Exchange::AsyncSource source = [out, served](std::span<std::byte> buf) -> awaitable<Result<size_t>> {
    auto [ec, n] = co_await out->async_read_some(asio::buffer(buf.data(), buf.size()), kTuple);
    if (ec == asio::error::eof) co_return size_t{0};
    if (ec) co_return Status::Internal("reading upload-pack output: " + ec.message());
    *served += n;
    co_return n;
  };
  NoCache(ex);
  Status sent = co_await ex.RespondChunked(200, kResultType, std::move(source));
  if (!sent.ok()) proc->Kill();  // the client went away (or the pipe broke)
  boost::system::error_code ignored;
  output.close(ignored);
  env::Process* p = proc.get();
  const int exit_code = co_await http::RunBlocking(ctx_.upstream_pool(), [p] { return p->Wait(); });
  packs_in_flight_.fetch_sub(1);
  metrics_.bytes_served.With({"mirror"}).Inc(bytes);
  span.Set("cellar.bytes", static_cast<int64_t>(bytes));
  span.Set("process.exit.code", static_cast<int64_t>(exit_code));
  if (!sent.ok()) span.SetError(sent.message());
  Count(kind, sent.ok() ? result : "error");
}

awaitable<void> GitAdapter::ProxyUploadPack(http::Exchange& ex, const GitTarget& target, const std::string& body) {
  env::HttpRequest req = UpstreamRequest(ex, target, /*post=*/true, body, /*force_v2=*/false);
  env::HttpClient* http = &http_;
  auto resp = co_await protocols::RunUpstream(ctx_, ex, [http, &req] { return http->Send(req); });
  if (!resp.ok() || (*resp)->head().status >= 500) {
    Count("fetch", "error");
    std::string why = resp.ok() ? "HTTP " + std::to_string((*resp)->head().status) : resp.error().message();
    co_return co_await protocols::RespondError(ex, 502, "upstream " + target.host + " failed: " + why);
  }
  env::HttpResponse* r = resp->get();
  if (r->head().status != 200) {
    auto all = co_await http::RunBlocking(ctx_.upstream_pool(), [r] { return env::ReadAll(*r, 1 << 20); });
    UpstreamAnswer answer;
    answer.status = r->head().status;
    answer.content_type = r->head().Header("Content-Type").value_or("text/plain");
    answer.www_authenticate = r->head().Header("WWW-Authenticate").value_or("");
    answer.body = all.ok() ? *all : "";
    co_return co_await RelayRefusal(ex, answer, "fetch");
  }
  auto& pool = ctx_.upstream_pool();
  uint64_t bytes = 0;
  uint64_t* served = &bytes;
  http::Exchange::AsyncSource source = [r, &pool, served](std::span<std::byte> out) -> awaitable<Result<size_t>> {
    auto n = co_await http::RunBlocking(pool, [r, out] { return r->Read(out); });
    if (n.ok()) *served += *n;
    co_return n;
  };
  NoCache(ex);
  Status sent = co_await ex.RespondChunked(200, kResultType, std::move(source));
  metrics_.bytes_served.With({"upstream"}).Inc(bytes);
  Count("fetch", sent.ok() ? "proxied" : "error");
}

}  // namespace cellar::git
