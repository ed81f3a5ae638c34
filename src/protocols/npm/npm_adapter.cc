#include "protocols/npm/npm_adapter.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>

#include "base/log.h"
#include "base/strings.h"
#include "hash/sha256.h"
#include "http/offload.h"
#include "protocols/common/fill_response.h"
#include "protocols/npm/integrity.h"

namespace cellar::npm {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;

namespace {

constexpr const char* kTarballNs = "npm/tarball";
constexpr const char* kMissingNs = "npm/missing";
// Without --public-url the base clients use comes from their Host header.
// Documents are then rendered once with this base and the request's base is
// substituted while sending, so the number of Host values a client can
// invent does not multiply the stored renderings. (.invalid never resolves.)
constexpr const char* kPlaceholderBase = "http://cellar-public-base.invalid/npm/";
constexpr const char* kCorgiType = "application/vnd.npm.install-v1+json";
constexpr size_t kMaxPassThroughBytes = 16 << 20;

// Plain functions build the JSON: GCC 12 miscompiles braced initializer
// lists inside coroutines ("array used as initializer").
std::string JsonObject(const char* key, const std::string& value) {
  nlohmann::json j = nlohmann::json::object();
  j[key] = value;
  return j.dump() + "\n";
}

awaitable<void> RespondJsonError(http::Exchange& ex, unsigned status, const std::string& message) {
  std::string body = JsonObject("error", message);
  co_await ex.Respond(status, body, "application/json");
}

// Counts a refused tarball once per fill (not once per waiting request).
class CountingVerifier : public core::Verifier {
 public:
  CountingVerifier(std::unique_ptr<core::Verifier> inner, NpmMetrics& metrics)
      : inner_(std::move(inner)), metrics_(metrics) {}
  void Update(std::span<const std::byte> data) override { inner_->Update(data); }
  Status Finish(uint64_t total) override {
    Status s = inner_->Finish(total);
    if (!s.ok()) {
      metrics_.integrity_failures.With({}).Inc();
      Log(LogLevel::kWarn, "npm: " + s.message());
    }
    return s;
  }

 private:
  std::unique_ptr<core::Verifier> inner_;
  NpmMetrics& metrics_;
};

}  // namespace

NpmAdapter::NpmAdapter(protocols::ProtocolContext ctx, env::HttpClient& client, core::Filler& filler,
                       NpmMetrics& metrics, NpmOptions options)
    : ctx_(ctx), client_(client), filler_(filler), metrics_(metrics), options_(std::move(options)),
      documents_(ctx.cache, client, metrics, options_.documents),
      missing_(ctx.cache, kMissingNs, options_.negative_ttl_ms) {}

void NpmAdapter::RegisterRoutes(http::Router& router) {
  router.Add("/npm/", "npm", [this](http::Exchange& ex) { return Handle(ex); });
}

std::optional<std::string> NpmAdapter::PublicBase(const http::Exchange& ex) const {
  auto base = protocols::PublicBaseUrl(ex, options_.public_url);
  if (!base) return std::nullopt;
  return *base + "/npm/";
}

std::string NpmAdapter::RenderBase() const {
  return options_.public_url.empty() ? kPlaceholderBase : options_.public_url + "/npm/";
}

std::string NpmAdapter::DocumentEtag(const core::Hit& hit, const std::string& base, const std::string& render_base) {
  std::string digest = hit.entry().digest.Hex();
  if (base != render_base) {
    // Each base is a different document: its own validator.
    std::string text = digest + "\n" + base;
    digest = ToHex(hash::Sha256(std::as_bytes(std::span(text.data(), text.size()))));
  }
  return "\"" + digest.substr(0, 40) + "\"";
}

awaitable<Status> NpmAdapter::SendWithBase(http::Exchange& ex, core::Hit& hit, uint64_t base_urls,
                                           const std::string& render_base, const std::string& base) {
  const uint64_t length = BaseSwapReader::Length(hit.entry().size, base_urls, render_base.size(), base.size());
  store::BlobReader& reader = hit.reader();
  auto swap = std::make_shared<BaseSwapReader>([&reader](std::span<std::byte> b) { return reader.Read(b); },
                                               render_base, base);
  auto source = [swap](std::span<std::byte> out) { return swap->Read(out); };
  co_return co_await ex.RespondStream(200, hit.entry().content_type, length, source);
}

awaitable<void> NpmAdapter::Handle(http::Exchange& ex) {
  if (auto a = protocols::Authorize(ctx_, ex, auth::kScopeRead, "npm"); !a.ok()) {
    co_await protocols::RespondAuthError(ex, a.error());
    co_return;
  }
  // The raw target: "%2f" inside a scoped name must survive, and empty
  // segments are refused rather than collapsed.
  std::string_view target = ex.target();
  target = target.substr(0, target.find('?'));
  target.remove_prefix(std::min(target.size(), size_t{5}));  // "/npm/"
  auto req = ParseNpmPath(target);
  if (!req) {
    co_await RespondJsonError(ex, 400, "not a valid npm package path: " + std::string(target.substr(0, 300)));
    co_return;
  }
  if (req->kind == NpmRequestKind::kSpecial) {
    co_await ServeSpecial(ex, *req);
    co_return;
  }
  if (ex.method() != verb::get && ex.method() != verb::head) {
    ex.SetHeader("Allow", "GET, HEAD");
    co_await RespondJsonError(ex, 405, "cellar is a read-through npm cache: publishing and other writes are not supported");
    co_return;
  }
  if (req->kind == NpmRequestKind::kTarball) {
    co_await ServeTarball(ex, *req);
    co_return;
  }
  auto base = PublicBase(ex);
  if (!base) {
    co_await RespondJsonError(ex, 400, "missing or invalid Host header (or set --public-url)");
    co_return;
  }
  co_await ServeDocument(ex, *req, *base);
}

awaitable<void> NpmAdapter::ServeDocument(http::Exchange& ex, const NpmRequest& req, const std::string& base) {
  const char* kind = req.kind == NpmRequestKind::kVersion ? "version" : "packument";
  auto count = [&](const char* result) { metrics_.requests.With({kind, result}).Inc(); };
  ex.SetHeader("Vary", "Accept");
  DocumentKey doc{"full", req.name};
  if (req.kind == NpmRequestKind::kVersion) {
    doc.form = "v:" + req.version;
  } else if (auto accept = ex.Header("Accept"); accept && accept->find(kCorgiType) != std::string_view::npos) {
    doc.form = "corgi";
  }
  if (missing_.Contains(req.name)) {
    count("not_found");
    ex.set_cache_result("negative");
    co_await RespondJsonError(ex, 404, "Not found");
    co_return;
  }
  const std::string render_base = RenderBase();
  RenderedDocument served;
  // An index read, and with --storage s3 a bucket lookup for a rendering
  // this node lacks: not on this I/O thread.
  if (auto fresh = co_await protocols::CacheCall(ctx_, [&] { return documents_.FreshRendering(doc, render_base); })) {
    served = std::move(*fresh);
    count("hit");
    ex.set_cache_result("hit");
  } else {
    const NpmUpstream& up = UpstreamFor(options_.scope_routes, options_.upstream, req.name);
    auto got =
        co_await protocols::RunUpstream(ctx_, ex, [&] { return documents_.Get(doc, up, render_base); });
    if (!got.ok()) {
      if (got.error().IsNotFound()) {
        // Only a missing package is remembered: one missing version or tag
        // must not hide the package's other versions.
        if (req.kind != NpmRequestKind::kVersion) {
          co_await http::RunBlocking(ctx_.workers, [&] { missing_.Remember(req.name); });
        }
        count("not_found");
        ex.set_cache_result("miss");
        co_await RespondJsonError(ex, 404, "Not found");
      } else {
        count("error");
        ex.set_cache_result("error");
        ex.SetHeader("Cache-Control", "no-store");
        co_await RespondJsonError(ex, 502, req.name + " is not cached and could not be fetched: " + got.error().message());
      }
      co_return;
    }
    served = std::move(*got);
    switch (served.freshness) {
      case Freshness::kFresh: count("hit"); ex.set_cache_result("hit"); break;
      case Freshness::kFetched: count("fill"); ex.set_cache_result("miss"); break;
      case Freshness::kRevalidated: count("revalidated"); ex.set_cache_result("revalidated"); break;
      case Freshness::kStale:
        count("stale");
        ex.set_cache_result("stale");
        ex.SetHeader("X-Cellar-Stale", "1");
        ex.SetHeader("Warning", "110 cellar \"Response is Stale\"");
        break;
    }
  }
  const std::string etag = DocumentEtag(*served.hit, base, render_base);
  ex.SetHeader("ETag", etag);
  ex.SetHeader("Cache-Control", served.freshness == Freshness::kStale
                                    ? "no-cache"
                                    : "public, max-age=" + std::to_string(options_.documents.max_age_ms / 1000));
  if (auto inm = ex.Header("If-None-Match"); inm && inm->find(etag) != std::string_view::npos) {
    count("not_modified");
    co_await ex.Respond(304, "", served.hit->entry().content_type);
    co_return;
  }
  if (base == render_base) {
    co_await protocols::ServeHit(ex, *served.hit);
  } else {
    co_await SendWithBase(ex, *served.hit, served.base_urls, render_base, base);
  }
}

Result<DistInfo> NpmAdapter::FindDist(const NpmRequest& req, const NpmUpstream& up, const std::string& base) {
  if (auto index = documents_.LoadDistIndex(req.name)) {
    if (auto it = index->find(req.file); it != index->end()) return it->second;
  }
  // Unknown file: the packument may be older than a new release (npm ci
  // from a lockfile asks for tarballs only). Revalidate it, unless that
  // happened in the last few seconds (a bogus name must not turn into an
  // upstream request per client request).
  auto got = documents_.Get({"corgi", req.name}, up, base, /*refresh_if_older_than_ms=*/10'000);
  if (!got.ok()) return got.error();
  if (auto index = documents_.LoadDistIndex(req.name)) {
    if (auto it = index->find(req.file); it != index->end()) return it->second;
  }
  if (got->freshness == Freshness::kStale) {
    // Only an old copy to look in: the file may be newer than it.
    return Status::Unavailable(req.name + " has no version whose tarball is " + req.file +
                               " in the stored packument, and the upstream failed: " + got->upstream_error.message());
  }
  return Status::NotFound(req.name + " has no version whose tarball is " + req.file);
}

awaitable<void> NpmAdapter::ServeTarball(http::Exchange& ex, const NpmRequest& req) {
  auto count = [&](const char* result) { metrics_.requests.With({"tarball", result}).Inc(); };
  const std::string key = req.name + "/" + req.file;
  if (auto hit = co_await protocols::CacheCall(ctx_, [&] { return ctx_.cache.Get(kTarballNs, key); });
      hit.ok() && *hit) {
    count("hit");
    ex.set_cache_result("hit");
    ex.SetHeader("Cache-Control", "public, max-age=31536000, immutable");
    co_await protocols::ServeHit(ex, ***hit);
    co_return;
  }
  const NpmUpstream& up = UpstreamFor(options_.scope_routes, options_.upstream, req.name);
  auto dist = co_await protocols::RunUpstream(ctx_, ex, [&] { return FindDist(req, up, RenderBase()); });
  if (!dist.ok()) {
    const bool missing = dist.error().IsNotFound();
    count(missing ? "not_found" : "error");
    ex.set_cache_result(missing ? "miss" : "error");
    co_await RespondJsonError(ex, missing ? 404 : 502, dist.error().message());
    co_return;
  }
  core::FillSpec spec;
  spec.put.ns = kTarballNs;
  spec.put.key = key;
  spec.put.content_type = "application/octet-stream";
  std::optional<ExpectedDigest> expected = ParseIntegrity(dist->integrity);
  if (!expected) expected = ParseShasum(dist->shasum);
  if (expected) {
    spec.put.verifier = std::make_unique<CountingVerifier>(
        MakeIntegrityVerifier(*expected, req.name + "@" + dist->version + " (" + req.file + ")"), metrics_);
  } else {
    Log(LogLevel::kWarn, "npm: " + req.name + " " + req.file + " has no integrity or shasum; stored unverified");
  }
  std::string url = up.Owns(dist->url) ? dist->url : up.base_url + EscapedName(req.name) + "/-/" + req.file;
  spec.open = [this, &up, url]() -> Result<std::unique_ptr<core::UpstreamSource>> {
    env::HttpRequest get;
    get.url = url;
    metrics_.upstream_requests.With({"tarball"}).Inc();
    auto started = std::chrono::steady_clock::now();
    auto resp = SendUpstream(client_, up, get);
    metrics_.upstream_seconds.With({"tarball"}).Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!resp.ok()) return resp.error();
    return std::unique_ptr<core::UpstreamSource>(new protocols::HttpSource(std::move(*resp)));
  };
  protocols::FillResponse how{kTarballNs, key, "application/octet-stream", options_.stream_threshold_bytes, nullptr};
  ex.SetHeader("Cache-Control", "public, max-age=31536000, immutable");
  auto reader = co_await protocols::RunUpstream(ctx_, ex, [&] { return filler_.GetOrFill(std::move(spec)); });
  Status sent = reader.ok() ? Status() : reader.error();
  if (reader.ok()) sent = co_await protocols::SendFromFill(ex, ctx_, std::move(*reader), how);
  if (sent.ok()) {
    count("fill");
    co_return;
  }
  ex.SetHeader("Cache-Control", "no-store");
  if (sent.IsNotFound()) {
    count("not_found");
    co_await RespondJsonError(ex, 404, sent.message());
  } else if (sent.code() == Code::kCorruption) {
    count("refused");
    ex.set_cache_result("refused");
    co_await RespondJsonError(ex, 502, sent.message() + "; not stored");
  } else {
    count("error");
    ex.set_cache_result("error");
    co_await RespondJsonError(ex, 502, req.file + " is not cached and could not be fetched: " + sent.message());
  }
}

awaitable<void> NpmAdapter::ServeSpecial(http::Exchange& ex, const NpmRequest& req) {
  const std::string& s = req.special;
  if (s == "ping") {
    co_await ex.Respond(200, "{}\n", "application/json");
    co_return;
  }
  if (s == "whoami") {
    if (ex.principal().empty() || ex.principal() == "anonymous") {
      co_await RespondJsonError(ex, 401, "not logged in: send a cellar token as _authToken");
    } else {
      std::string body = JsonObject("username", ex.principal());
      co_await ex.Respond(200, body, "application/json");
    }
    co_return;
  }
  if (s.starts_with("npm/v1/security/")) {
    if (!options_.audit) {
      metrics_.requests.With({"audit", "disabled"}).Inc();
      co_await RespondJsonError(ex, 404, "npm audit is disabled on this cellar (--npm-audit=false)");
      co_return;
    }
    if (ex.method() != verb::post) {
      co_await RespondJsonError(ex, 405, "audit endpoints take POST");
      co_return;
    }
    co_await PassThrough(ex, "-/" + s, "audit");
    co_return;
  }
  if (ex.method() != verb::get && ex.method() != verb::head) {
    co_await RespondJsonError(ex, 405, "cellar is a read-through npm cache: " + s + " is not supported");
    co_return;
  }
  if (s == "v1/search") {
    co_await PassThrough(ex, "-/" + s, "search");
  } else if (s == "npm/v1/keys" || s.starts_with("npm/v1/attestations/")) {
    co_await PassThrough(ex, "-/" + s, "other");
  } else {
    co_await RespondJsonError(ex, 404, "not supported by cellar: /-/" + s);
  }
}

awaitable<void> NpmAdapter::PassThrough(http::Exchange& ex, const std::string& path, const char* kind) {
  env::HttpRequest req;
  req.method = ex.method() == verb::post ? "POST" : "GET";
  req.url = options_.upstream.base_url + path;
  if (!ex.query().empty()) req.url += "?" + std::string(ex.query());
  for (const char* h : {"Content-Type", "Content-Encoding", "Accept"}) {
    if (auto v = ex.Header(h)) req.headers.emplace_back(h, std::string(*v));
  }
  if (req.method == "POST") {
    auto body = co_await ex.ReadBodyToString(kMaxPassThroughBytes);
    if (!body.ok()) {
      co_await RespondJsonError(ex, 413, body.error().message());
      co_return;
    }
    req.body = std::move(*body);
    if (req.body.empty()) req.body = " ";  // curl sends a body only when non-empty
  }
  metrics_.upstream_requests.With({kind}).Inc();
  auto result = co_await protocols::RunUpstream(
      ctx_, ex, [&]() -> Result<std::pair<env::HttpResponseHead, std::string>> {
        env::HttpRequest r = req;
        options_.upstream.Authorize(r);
        CELLAR_ASSIGN_OR_RETURN(auto resp, client_.Send(r));
        CELLAR_ASSIGN_OR_RETURN(std::string body, env::ReadAll(*resp, kMaxPassThroughBytes));
        return std::make_pair(resp->head(), std::move(body));
      });
  if (!result.ok()) {
    metrics_.requests.With({kind, "error"}).Inc();
    co_await RespondJsonError(ex, 502, std::string(kind) + " upstream failed: " + env::RedactUrl(result.error().message()));
    co_return;
  }
  metrics_.requests.With({kind, "passthrough"}).Inc();
  ex.SetHeader("Cache-Control", "no-store");
  if (auto enc = result->first.Header("Content-Encoding")) ex.SetHeader("Content-Encoding", *enc);
  co_await ex.Respond(static_cast<unsigned>(result->first.status), result->second,
                      result->first.Header("Content-Type").value_or("application/json"));
}

}  // namespace cellar::npm
