#include "protocols/goproxy/goproxy_adapter.h"

#include "base/strings.h"
#include "http/offload.h"

namespace cellar::goproxy {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;

namespace {

constexpr const char* kImmutableCacheControl = "public, max-age=31536000, immutable";
constexpr size_t kMaxMetadataBytes = 16 << 20;
constexpr const char* kMissingNamespace = "go/missing";

struct FileKind {
  std::string ns;
  std::string content_type;
  bool immutable;
};

FileKind Describe(const GoRequest& r) {
  switch (r.kind) {
    case GoFileKind::kList: return {"go/list", "text/plain; charset=utf-8", false};
    case GoFileKind::kLatest: return {"go/latest", "application/json", false};
    case GoFileKind::kInfo:
      if (IsCanonicalVersion(r.version)) return {"go/info", "application/json", true};
      return {"go/query", "application/json", false};  // branch or commit query
    case GoFileKind::kMod: return {"go/mod", "text/plain; charset=utf-8", true};
    case GoFileKind::kZip: return {"go/zip", "application/zip", true};
  }
  return {"go/list", "text/plain", false};
}

std::string KeyOf(const GoRequest& r) { return r.version.empty() ? r.module : r.module + "@" + r.version; }

// Adapts an upstream HTTP response to the Filler's source interface.
class HttpSource : public core::UpstreamSource {
 public:
  explicit HttpSource(std::unique_ptr<env::HttpResponse> resp) : resp_(std::move(resp)) {}
  std::optional<uint64_t> size() const override { return resp_->head().ContentLength(); }
  Result<size_t> Read(std::span<std::byte> out) override { return resp_->Read(out); }

 private:
  std::unique_ptr<env::HttpResponse> resp_;
};

}  // namespace

GoproxyAdapter::GoproxyAdapter(protocols::ProtocolContext ctx, env::HttpClient& client,
                               core::Filler& filler, GoproxyOptions options)
    : ctx_(ctx), client_(client), filler_(filler), options_(std::move(options)) {}

void GoproxyAdapter::RegisterRoutes(http::Router& router) {
  router.Add("/go/", "goproxy", [this](http::Exchange& ex) { return Handle(ex); });
}

awaitable<void> GoproxyAdapter::Handle(http::Exchange& ex) {
  std::string_view rest = std::string_view(ex.path()).substr(4);
  if (auto a = protocols::Authorize(ctx_, ex, auth::kScopeRead, "go"); !a.ok()) {
    co_await protocols::RespondAuthError(ex, a.error());
    co_return;
  }
  if (ex.method() != verb::get && ex.method() != verb::head) {
    ex.SetHeader("Allow", "GET, HEAD");
    co_await protocols::RespondError(ex, 405, "method not allowed");
    co_return;
  }
  if (rest.starts_with("sumdb/")) {
    // 404 makes the go command skip this proxy for the checksum database
    // and contact it directly.
    co_await protocols::RespondError(ex, 404, "checksum database proxy not available");
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
  if (co_await AnswerKnownMissing(ex, *req)) co_return;
  if (Describe(*req).immutable) {
    co_await ServeImmutable(ex, *req);
  } else {
    co_await ServeMutable(ex, *req);
  }
}

awaitable<bool> GoproxyAdapter::AnswerKnownMissing(http::Exchange& ex, const GoRequest& req) {
  auto entry = ctx_.cache.index().Get(kMissingNamespace, req.upstream_path);
  if (!entry.ok() || !*entry) co_return false;
  if (ctx_.cache.clock().NowUnixMs() - (*entry)->fetched_at_ms >= (*entry)->max_age_ms) co_return false;
  ex.set_cache_result("negative");
  ex.SetHeader("Cache-Control", "public, max-age=60");
  co_await protocols::RespondError(ex, 404, "not found upstream: " + req.upstream_path);
  co_return true;
}

void GoproxyAdapter::RememberMissing(const GoRequest& req) {
  core::PutOptions o;
  o.ns = kMissingNamespace;
  o.key = req.upstream_path;
  o.max_age_ms = options_.negative_ttl_ms;
  auto put = ctx_.cache.BeginPut(std::move(o));
  if (put.ok()) (void)(*put)->Commit();
}

awaitable<void> GoproxyAdapter::ServeImmutable(http::Exchange& ex, const GoRequest& req) {
  const FileKind kind = Describe(req);
  const std::string key = KeyOf(req);
  ex.SetHeader("Cache-Control", kImmutableCacheControl);
  if (auto hit = ctx_.cache.Get(kind.ns, key); hit.ok() && *hit) {
    ex.set_cache_result("hit");
    co_await protocols::ServeHit(ex, ***hit);
    co_return;
  }
  core::FillSpec spec;
  spec.put.ns = kind.ns;
  spec.put.key = key;
  spec.put.content_type = kind.content_type;
  const uint64_t limit = options_.max_file_bytes;
  spec.open = [this, path = req.upstream_path, limit]() -> Result<std::unique_ptr<core::UpstreamSource>> {
    CELLAR_ASSIGN_OR_RETURN(auto resp, FetchFromUpstreams(client_, options_.upstreams, path));
    if (auto len = resp->head().ContentLength(); len && *len > limit) {
      return Status::ResourceExhausted(path + " is larger than " + std::to_string(limit) + " bytes");
    }
    return std::unique_ptr<core::UpstreamSource>(new HttpSource(std::move(resp)));
  };
  auto reader = co_await http::RunBlocking(ctx_.workers, [&] { return filler_.GetOrFill(std::move(spec)); });
  if (!reader.ok()) {
    if (reader.error().IsNotFound()) {
      co_await http::RunBlocking(ctx_.workers, [&] { RememberMissing(req); });
      ex.set_cache_result("miss");
      ex.SetHeader("Cache-Control", "public, max-age=60");
      co_await protocols::RespondError(ex, 404, reader.error().message());
    } else {
      ex.set_cache_result("error");
      ex.SetHeader("Cache-Control", "no-store");
      co_await protocols::RespondError(ex, 502, reader.error().message());
    }
    co_return;
  }
  ex.set_cache_result((*reader)->from_cache() ? "hit" : "fill");
  auto* r = reader->get();
  auto size = r->size();
  if (!size) {
    // Unknown length (chunked upstream): let the fill finish, then serve the stored copy.
    Status drained = co_await http::RunBlocking(ctx_.workers, [r]() -> Status {
      std::vector<std::byte> scratch(256 * 1024);
      while (true) {
        CELLAR_ASSIGN_OR_RETURN(size_t n, r->Read(scratch));
        if (n == 0) return Status();
      }
    });
    auto hit = ctx_.cache.Get(kind.ns, key);
    if (!drained.ok() || !hit.ok() || !*hit) {
      co_await protocols::RespondError(ex, 502, drained.ok() ? "fill did not complete" : drained.message());
      co_return;
    }
    co_await protocols::ServeHit(ex, ***hit);
    co_return;
  }
  auto& workers = ctx_.workers;
  co_await ex.RespondAsyncStream(200, kind.content_type, *size,
                                 [r, &workers](std::span<std::byte> out) -> awaitable<Result<size_t>> {
                                   co_return co_await http::RunBlocking(workers, [r, out] { return r->Read(out); });
                                 });
}

awaitable<void> GoproxyAdapter::ServeMutable(http::Exchange& ex, const GoRequest& req) {
  const FileKind kind = Describe(req);
  const std::string key = KeyOf(req);
  auto cached = ctx_.cache.Get(kind.ns, key);
  std::unique_ptr<core::Hit> hit = cached.ok() && *cached ? std::move(**cached) : nullptr;
  const int64_t now = ctx_.cache.clock().NowUnixMs();
  if (hit && now - hit->entry().fetched_at_ms < options_.list_max_age_ms) {
    ex.set_cache_result("hit");
    ex.SetHeader("Cache-Control", "public, max-age=60");
    co_await protocols::ServeHit(ex, *hit);
    co_return;
  }
  // Stale or missing: ask upstream, keep the answer, fall back to the old copy.
  auto fetched = co_await http::RunBlocking(ctx_.workers, [&]() -> Result<std::string> {
    CELLAR_ASSIGN_OR_RETURN(auto resp, FetchFromUpstreams(client_, options_.upstreams, req.upstream_path));
    CELLAR_ASSIGN_OR_RETURN(std::string body, env::ReadAll(*resp, kMaxMetadataBytes));
    core::PutOptions o;
    o.ns = kind.ns;
    o.key = key;
    o.content_type = kind.content_type;
    o.max_age_ms = options_.list_max_age_ms;
    CELLAR_ASSIGN_OR_RETURN(auto put, ctx_.cache.BeginPut(std::move(o)));
    CELLAR_RETURN_IF_ERROR(put->Write(std::as_bytes(std::span(body.data(), body.size()))));
    CELLAR_RETURN_IF_ERROR(put->Commit().status());
    return body;
  });
  if (fetched.ok()) {
    ex.set_cache_result(hit ? "revalidated" : "miss");
    ex.SetHeader("Cache-Control", "public, max-age=60");
    co_await ex.Respond(200, *fetched, kind.content_type);
    co_return;
  }
  if (fetched.error().IsNotFound()) {
    co_await http::RunBlocking(ctx_.workers, [&] { RememberMissing(req); });
    ex.set_cache_result("miss");
    ex.SetHeader("Cache-Control", "public, max-age=60");
    co_await protocols::RespondError(ex, 404, fetched.error().message());
    co_return;
  }
  if (hit) {
    ex.set_cache_result("stale");
    ex.SetHeader("X-Cellar-Stale", "1");
    ex.SetHeader("Warning", "110 cellar \"Response is Stale\"");
    ex.SetHeader("Cache-Control", "no-store");
    co_await protocols::ServeHit(ex, *hit);
    co_return;
  }
  ex.set_cache_result("error");
  ex.SetHeader("Cache-Control", "no-store");
  co_await protocols::RespondError(ex, 502, fetched.error().message());
}

}  // namespace cellar::goproxy
