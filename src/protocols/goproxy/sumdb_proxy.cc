#include "protocols/goproxy/sumdb_proxy.h"

#include "base/strings.h"
#include "core/verifier.h"
#include "http/offload.h"
#include "protocols/common/fill_response.h"
#include "protocols/goproxy/go_path.h"
#include "protocols/goproxy/upstream_list.h"

namespace cellar::goproxy {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;

namespace {

constexpr const char* kDocumentNamespace = "go/sumdb";  // latest, lookups, partial tiles
constexpr const char* kTileNamespace = "go/sumdb-tile";  // full tiles: immutable
constexpr const char* kText = "text/plain; charset=utf-8";
constexpr const char* kBinary = "application/octet-stream";

const char* KindLabel(SumdbFile f) {
  switch (f) {
    case SumdbFile::kSupported: return "sumdb_supported";
    case SumdbFile::kLatest: return "sumdb_latest";
    case SumdbFile::kLookup: return "sumdb_lookup";
    case SumdbFile::kTile: return "sumdb_tile";
  }
  return "sumdb";
}

}  // namespace

SumdbProxy::SumdbProxy(protocols::ProtocolContext ctx, env::HttpClient& client, core::Filler& filler,
                       FreshDocuments& documents, GoMetrics& metrics, SumdbOptions options)
    : ctx_(ctx), client_(client), filler_(filler), documents_(documents), metrics_(metrics),
      options_(std::move(options)) {}

void SumdbProxy::RegisterRoutes(http::Router& router) {
  router.Add("/go/sumdb/", "gosumdb", [this](http::Exchange& ex) { return Handle(ex); });
  router.Add("/goproxy/sumdb/", "gosumdb", [this](http::Exchange& ex) { return Handle(ex); });
}

std::string SumdbProxy::verifying_database() const {
  return options_.databases.empty() ? "" : options_.databases.front().name;
}

const SumdbEndpoint* SumdbProxy::Find(const std::string& name) const {
  for (const auto& db : options_.databases) {
    if (db.name == name) return &db;
  }
  return nullptr;
}

Result<std::unique_ptr<env::HttpResponse>> SumdbProxy::Fetch(const SumdbEndpoint& db, const std::string& tail) {
  env::HttpRequest req;
  req.url = db.base_url + "/" + tail;
  auto resp = client_.Send(req);
  if (!resp.ok()) {
    return Status::Unavailable("checksum database " + db.name + " (" + RedactUrl(db.base_url) +
                               ") unreachable: " + resp.error().message());
  }
  int status = (*resp)->head().status;
  if (status == 200) return resp;
  if (status == 404 || status == 410) return Status::NotFound("checksum database " + db.name + " has no " + tail);
  return Status::Unavailable("checksum database " + db.name + " answered " + std::to_string(status) + " for " + tail);
}

DocumentSpec SumdbProxy::Document(const SumdbEndpoint& db, const std::string& tail, const char* content_type) {
  DocumentSpec spec;
  spec.ns = kDocumentNamespace;
  spec.key = db.name + "/" + tail;
  spec.content_type = content_type;
  spec.max_age_ms = options_.max_age_ms;
  spec.fetch = [this, &db, tail] { return Fetch(db, tail); };
  return spec;
}

Result<GoSums> SumdbProxy::LookupSums(const std::string& module, const std::string& version) {
  if (options_.databases.empty()) return Status::Unavailable("no checksum database is configured");
  const SumdbEndpoint& db = options_.databases.front();
  // The record part of a lookup never changes, so a cached answer of any
  // age serves (the tree head in it may be old; the go command checks that).
  auto body = documents_.GetAnyAge(Document(db, "lookup/" + module + "@" + version, kText));
  if (!body.ok()) {
    if (!body.error().IsNotFound()) metrics_.upstream_errors.With({"sumdb_lookup"}).Inc();
    return body.error();
  }
  return ParseLookupRecord(*body, UnescapeGoPath(module), UnescapeGoPath(version));
}

awaitable<void> SumdbProxy::Handle(http::Exchange& ex) {
  if (auto a = protocols::Authorize(ctx_, ex, auth::kScopeRead, "go"); !a.ok()) {
    co_await protocols::RespondAuthError(ex, a.error());
    co_return;
  }
  if (ex.method() != verb::get && ex.method() != verb::head) {
    ex.SetHeader("Allow", "GET, HEAD");
    co_await protocols::RespondError(ex, 405, "method not allowed");
    co_return;
  }
  std::string_view target = ex.target();  // raw: empty elements are refused
  target = target.substr(0, target.find('?'));
  target.remove_prefix(target.starts_with("/goproxy/sumdb/") ? 15 : std::min(target.size(), size_t{10}));  // "/go/sumdb/"
  auto decoded = PercentDecode(target, /*allow_encoded_slash=*/false);
  auto req = decoded ? ParseSumdbPath(*decoded) : std::nullopt;
  if (!req) {
    co_await protocols::RespondError(
        ex, 400, "not a checksum database path: expected <name>/{supported,latest,lookup/<module>@<version>,tile/...}");
    co_return;
  }
  const char* kind = KindLabel(req->file);
  auto count = [&](const char* result) { metrics_.requests.With({kind, result}).Inc(); };
  const SumdbEndpoint* db = Find(req->name);
  if (!db) {
    // 404 sends the go command to its next GOPROXY entry or to the database itself.
    count("not_found");
    co_await protocols::RespondError(ex, 404, "checksum database " + req->name + " is not proxied here");
    co_return;
  }
  switch (req->file) {
    case SumdbFile::kSupported:
      count("hit");
      co_await ex.Respond(200, "", kText);
      co_return;
    case SumdbFile::kLookup:
      if (options_.private_modules.Matches(UnescapeGoPath(req->module))) {
        count("denied");
        co_await protocols::RespondError(
            ex, 403,
            "module " + UnescapeGoPath(req->module) +
                " is private (--go-nosumdb); its name is not sent to the checksum database. "
                "Add it to GONOSUMDB or GOPRIVATE.");
        co_return;
      }
      break;
    case SumdbFile::kLatest:
    case SumdbFile::kTile:
      break;
  }

  if (req->file == SumdbFile::kTile && req->full_tile) {
    core::FillSpec spec;
    spec.put.ns = kTileNamespace;
    spec.put.key = db->name + "/" + req->tail;
    spec.put.content_type = kBinary;
    // Kept forever, so checked first: a full hash tile is exactly 2^H hashes
    // of 32 bytes (a captive portal's HTML page would otherwise break every
    // go command's verification until an operator cleared the cache).
    if (!req->data_tile && req->tile_height >= 1 && req->tile_height <= 16) {
      spec.put.verifier = std::make_unique<core::SizeVerifier>(uint64_t{32} << req->tile_height);
    }
    ex.SetHeader("Cache-Control", "public, max-age=31536000, immutable");
    // With --storage s3 a local miss asks the bucket: not on this I/O thread.
    if (auto hit = co_await protocols::CacheCall(ctx_, [&] { return ctx_.cache.Get(spec.put.ns, spec.put.key); });
        hit.ok() && *hit) {
      count("hit");
      ex.set_cache_result("hit");
      co_await protocols::ServeHit(ex, ***hit);
      co_return;
    }
    spec.open = [this, db, tail = req->tail]() -> Result<std::unique_ptr<core::UpstreamSource>> {
      CELLAR_ASSIGN_OR_RETURN(auto resp, Fetch(*db, tail));
      return std::unique_ptr<core::UpstreamSource>(new protocols::HttpSource(std::move(resp)));
    };
    protocols::FillResponse how{spec.put.ns, spec.put.key, kBinary, 1 << 20, nullptr};
    auto reader = co_await protocols::RunUpstream(ctx_, ex, [&] { return filler_.GetOrFill(std::move(spec)); });
    // (No co_await inside ?: — GCC 12 miscompiles temporaries there.)
  Status sent = reader.ok() ? Status() : reader.error();
  if (reader.ok()) sent = co_await protocols::SendFromFill(ex, ctx_, std::move(*reader), how);
    if (sent.ok()) {
      count("fill");
      co_return;
    }
    ex.SetHeader("Cache-Control", "no-store");
    if (sent.IsNotFound()) {
      count("not_found");
      co_await protocols::RespondError(ex, 404, sent.message());
    } else {
      count("error");
      metrics_.upstream_errors.With({kind}).Inc();
      co_await protocols::RespondError(ex, 502, sent.message());
    }
    co_return;
  }

  Status error;
  auto outcome = co_await documents_.Serve(
      ex, Document(*db, req->tail, req->file == SumdbFile::kTile ? kBinary : kText), &error);
  switch (outcome) {
    case DocumentOutcome::kHit: count("hit"); break;
    case DocumentOutcome::kFetched: count("fill"); break;
    case DocumentOutcome::kRevalidated: count("revalidated"); break;
    case DocumentOutcome::kStale:
      count("stale");
      metrics_.upstream_errors.With({kind}).Inc();
      break;
    case DocumentOutcome::kError:
      count("error");
      metrics_.upstream_errors.With({kind}).Inc();
      break;
    case DocumentOutcome::kNotFound:
      count("not_found");
      ex.SetHeader("Cache-Control", "no-store");
      co_await protocols::RespondError(ex, 404, error.message());
      break;
  }
}

}  // namespace cellar::goproxy
