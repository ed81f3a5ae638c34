#include "protocols/goproxy/goproxy_adapter.h"

#include <unistd.h>

#include <cerrno>

#include "base/log.h"
#include "base/strings.h"
#include "http/offload.h"
#include "protocols/common/fill_response.h"

namespace cellar::goproxy {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;

namespace {

constexpr const char* kImmutableCacheControl = "public, max-age=31536000, immutable";
constexpr const char* kMissingNamespace = "go/missing";

struct FileKind {
  std::string ns;
  std::string content_type;
  bool immutable;
  const char* label;  // metrics
};

FileKind Describe(const GoRequest& r) {
  switch (r.kind) {
    case GoFileKind::kList: return {"go/list", "text/plain; charset=utf-8", false, "list"};
    case GoFileKind::kLatest: return {"go/latest", "application/json", false, "latest"};
    case GoFileKind::kInfo:
      if (IsCanonicalVersion(r.version)) return {"go/info", "application/json", true, "info"};
      return {"go/query", "application/json", false, "query"};  // branch or commit query
    case GoFileKind::kMod: return {"go/mod", "text/plain; charset=utf-8", true, "mod"};
    case GoFileKind::kZip: return {"go/zip", "application/zip", true, "zip"};
  }
  return {"go/list", "text/plain", false, "list"};
}

std::string KeyOf(const GoRequest& r) { return r.version.empty() ? r.module : r.module + "@" + r.version; }

Result<std::string> ReadSpool(int fd, uint64_t size) {
  std::string out(size, '\0');
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::pread(fd, out.data() + got, size - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::FromErrno(n < 0 ? errno : EIO, "read fill spool");
    got += static_cast<size_t>(n);
  }
  return out;
}

// The h1: value kept in an entry's attributes ({"h1":"h1:..."}).
std::string H1Of(const std::string& attributes) {
  constexpr std::string_view kField = "\"h1\":\"";
  size_t at = attributes.find(kField);
  if (at == std::string::npos) return "";
  size_t start = at + kField.size();
  size_t end = attributes.find('"', start);
  return end == std::string::npos ? "" : attributes.substr(start, end - start);
}

void AddChecksumHeader(http::Exchange& ex, const index::Entry& e) {
  if (std::string h1 = H1Of(e.attributes); !h1.empty()) ex.SetHeader("X-Go-Checksum", h1);
}

}  // namespace

GoproxyAdapter::GoproxyAdapter(protocols::ProtocolContext ctx, env::HttpClient& client, core::Filler& filler,
                               FreshDocuments& documents, SumdbProxy& sumdb, GoMetrics& metrics,
                               GoproxyOptions options)
    : ctx_(ctx), client_(client), filler_(filler), documents_(documents), sumdb_(sumdb), metrics_(metrics),
      options_(std::move(options)), missing_(ctx.cache, kMissingNamespace, options_.negative_ttl_ms) {}

void GoproxyAdapter::RegisterRoutes(http::Router& router) {
  // /goproxy/: content-cache's path (GOPROXY=http://host:8080/goproxy).
  router.Add("/go/", "goproxy", [this](http::Exchange& ex) { return Handle(ex); });
  router.Add("/goproxy/", "goproxy", [this](http::Exchange& ex) { return Handle(ex); });
}

void GoproxyAdapter::Count(const GoRequest& req, const char* result) {
  metrics_.requests.With({Describe(req).label, result}).Inc();
}

awaitable<void> GoproxyAdapter::Handle(http::Exchange& ex) {
  // The raw target, not the slash-collapsed path: "a//b" is an empty path
  // element, which no module path has.
  std::string_view target = ex.target();
  std::string_view rest = target.substr(0, target.find('?'));
  rest.remove_prefix(rest.starts_with("/goproxy/") ? 9 : std::min(rest.size(), size_t{4}));  // "/go/"
  if (auto a = protocols::Authorize(ctx_, ex, auth::kScopeRead, "go"); !a.ok()) {
    co_await protocols::RespondAuthError(ex, a.error());
    co_return;
  }
  if (ex.method() != verb::get && ex.method() != verb::head) {
    ex.SetHeader("Allow", "GET, HEAD");
    co_await protocols::RespondError(ex, 405, "method not allowed");
    co_return;
  }
  // The go command escapes paths with url.PathEscape, so "!" arrives as
  // "%21". Encoded slashes are refused; ".." is caught after decoding.
  auto decoded = PercentDecode(rest, /*allow_encoded_slash=*/false);
  auto req = decoded ? ParseGoPath(*decoded) : std::nullopt;
  if (!req) {
    co_await protocols::RespondError(
        ex, 400, "not a Go module proxy path: expected <case-encoded module>/@v/{list,<version>.info,.mod,.zip} or /@latest");
    co_return;
  }
  const std::vector<UpstreamEntry>* upstreams = &options_.upstreams;
  if (const ModuleRoute* route = FindRoute(options_.routes, UnescapeGoPath(req->module))) {
    if (route->upstreams.empty()) {
      // Private here: 404 lets `GOPROXY=<cellar>,direct` fetch it directly.
      Count(*req, "denied");
      ex.SetHeader("Cache-Control", "no-store");
      co_await protocols::RespondError(ex, 404,
                                       "module " + UnescapeGoPath(req->module) + " is not served by this proxy (--go-route ...=off)");
      co_return;
    }
    upstreams = &route->upstreams;
  }
  if (co_await AnswerKnownMissing(ex, *req)) co_return;
  if (Describe(*req).immutable) {
    co_await ServeImmutable(ex, *req, *upstreams);
  } else {
    co_await ServeMutable(ex, *req, *upstreams);
  }
}

awaitable<bool> GoproxyAdapter::AnswerKnownMissing(http::Exchange& ex, const GoRequest& req) {
  if (!missing_.Contains(req.upstream_path)) co_return false;
  Count(req, "negative");
  ex.set_cache_result("negative");
  ex.SetHeader("Cache-Control", "public, max-age=60");
  co_await protocols::RespondError(ex, 404, "not found upstream: " + req.upstream_path);
  co_return true;
}

Status GoproxyAdapter::CheckDownloaded(const GoRequest& req, int fd, uint64_t size, core::PendingPut* put) {
  const std::string module = UnescapeGoPath(req.module);
  const std::string version = UnescapeGoPath(req.version);
  const bool is_zip = req.kind == GoFileKind::kZip;
  const char* what = is_zip ? ".zip" : ".mod";
  auto refuse = [&](Status s) {
    metrics_.verification_failures.With({Describe(req).label}).Inc();
    Log(LogLevel::kWarn, "go: " + s.message());
    return s;
  };
  std::string h1;
  if (is_zip) {
    auto checked = CheckModuleZip(fd, module, version, options_.zip_limits);
    if (!checked.ok()) return refuse(checked.error().WithContext(module + "@" + version + ".zip refused, not stored"));
    h1 = *checked;
  } else {
    if (size > options_.zip_limits.max_go_mod_bytes) {
      return refuse(Status::Corruption(module + "@" + version + ".mod is larger than the go command allows"));
    }
    CELLAR_ASSIGN_OR_RETURN(std::string mod, ReadSpool(fd, size));
    h1 = ModFileHash1(mod);
  }
  if (options_.verify_with_sumdb && !options_.nosumdb.Matches(module)) {
    const std::string db = sumdb_.verifying_database();
    auto sums = sumdb_.LookupSums(req.module, req.version);
    if (!sums.ok()) {
      if (sums.error().IsNotFound()) {
        return refuse(Status::Corruption("checksum database " + db + " has no record of " + module + "@" + version +
                                         "; " + what + " refused, not stored (for a private module set --go-nosumdb)"));
      }
      return Status::Unavailable("cannot verify " + module + "@" + version + what + " (not stored): " +
                                 sums.error().message());
    }
    const std::string& expected = is_zip ? sums->zip_h1 : sums->mod_h1;
    if (expected != h1) {
      return refuse(Status::Corruption("checksum mismatch for " + module + "@" + version + what + ": upstream sent " +
                                       h1 + ", checksum database " + db + " has " + expected +
                                       "; refused, not stored"));
    }
  }
  if (put) put->set_attributes("{\"h1\":\"" + h1 + "\"}");  // null: passed through, not stored
  return Status();
}

awaitable<void> GoproxyAdapter::ServeImmutable(http::Exchange& ex, const GoRequest& req,
                                               const std::vector<UpstreamEntry>& upstreams) {
  const FileKind kind = Describe(req);
  const std::string key = KeyOf(req);
  ex.SetHeader("Cache-Control", kImmutableCacheControl);
  if (auto hit = co_await protocols::CacheCall(ctx_, [&] { return ctx_.cache.Get(kind.ns, key); });
      hit.ok() && *hit) {
    Count(req, "hit");
    ex.set_cache_result("hit");
    AddChecksumHeader(ex, (**hit)->entry());
    co_await protocols::ServeHit(ex, ***hit);
    co_return;
  }
  core::FillSpec spec;
  spec.put.ns = kind.ns;
  spec.put.key = key;
  spec.put.content_type = kind.content_type;
  const uint64_t limit = options_.zip_limits.max_zip_bytes;
  spec.open = [this, &upstreams, path = req.upstream_path, limit]() -> Result<std::unique_ptr<core::UpstreamSource>> {
    CELLAR_ASSIGN_OR_RETURN(auto resp, FetchFromUpstreams(client_, upstreams, path));
    if (auto len = resp->head().ContentLength(); len && *len > limit) {
      return Status::ResourceExhausted(path + " is larger than " + std::to_string(limit) + " bytes");
    }
    return std::unique_ptr<core::UpstreamSource>(new protocols::HttpSource(std::move(resp)));
  };
  if (req.kind == GoFileKind::kZip || req.kind == GoFileKind::kMod) {
    spec.before_commit = [this, req](int fd, uint64_t size, core::PendingPut* put) {
      return CheckDownloaded(req, fd, size, put);
    };
  }
  protocols::FillResponse how{kind.ns, key, kind.content_type, options_.stream_threshold_bytes, AddChecksumHeader};
  auto reader = co_await protocols::RunUpstream(ctx_, ex, [&] { return filler_.GetOrFill(std::move(spec)); });
  // (No co_await inside ?: — GCC 12 miscompiles temporaries there.)
  Status sent = reader.ok() ? Status() : reader.error();
  if (reader.ok()) sent = co_await protocols::SendFromFill(ex, ctx_, std::move(*reader), how);
  if (sent.ok()) {
    Count(req, "fill");
    co_return;
  }
  ex.SetHeader("Cache-Control", "no-store");
  if (sent.IsNotFound()) {
    co_await http::RunBlocking(ctx_.workers, [&] { missing_.Remember(req.upstream_path); });
    Count(req, "not_found");
    ex.set_cache_result("miss");
    ex.SetHeader("Cache-Control", "public, max-age=60");
    co_await protocols::RespondError(ex, 404, sent.message());
  } else if (sent.code() == Code::kCorruption) {
    Count(req, "refused");
    ex.set_cache_result("refused");
    co_await protocols::RespondError(ex, 502, sent.message());
  } else {
    Count(req, "error");
    metrics_.upstream_errors.With({kind.label}).Inc();
    ex.set_cache_result("error");
    co_await protocols::RespondError(ex, 502, sent.message());
  }
}

awaitable<void> GoproxyAdapter::ServeMutable(http::Exchange& ex, const GoRequest& req,
                                             const std::vector<UpstreamEntry>& upstreams) {
  const FileKind kind = Describe(req);
  DocumentSpec spec;
  spec.ns = kind.ns;
  spec.key = KeyOf(req);
  spec.content_type = kind.content_type;
  spec.max_age_ms = options_.list_max_age_ms;
  spec.fetch = [this, &upstreams, path = req.upstream_path] { return FetchFromUpstreams(client_, upstreams, path); };
  Status error;
  switch (co_await documents_.Serve(ex, spec, &error)) {
    case DocumentOutcome::kHit: Count(req, "hit"); break;
    case DocumentOutcome::kFetched: Count(req, "fill"); break;
    case DocumentOutcome::kRevalidated: Count(req, "revalidated"); break;
    case DocumentOutcome::kStale:
      Count(req, "stale");
      metrics_.upstream_errors.With({kind.label}).Inc();
      break;
    case DocumentOutcome::kError:
      Count(req, "error");
      metrics_.upstream_errors.With({kind.label}).Inc();
      break;
    case DocumentOutcome::kNotFound:
      co_await http::RunBlocking(ctx_.workers, [&] { missing_.Remember(req.upstream_path); });
      Count(req, "not_found");
      ex.set_cache_result("miss");
      ex.SetHeader("Cache-Control", "public, max-age=60");
      co_await protocols::RespondError(ex, 404, error.message());
      break;
  }
}

}  // namespace cellar::goproxy
