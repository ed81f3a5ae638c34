#include "protocols/sccache/sccache_adapter.h"

#include "http/offload.h"
#include "protocols/sccache/webdav.h"

namespace cellar::sccache {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;
using protocols::UploadError;

namespace {
constexpr std::string_view kPrefix = "/sccache";
constexpr const char* kNamespace = "sccache";
constexpr const char* kAllow = "OPTIONS, PROPFIND, MKCOL, GET, HEAD, PUT, DELETE";
constexpr size_t kMaxTeamLength = 100;
}  // namespace

Result<DavPath> ParseDavPath(std::string_view rest) {
  if (!rest.empty() && rest.front() != '/') return Status::InvalidArgument("expected /sccache/...");
  if (!rest.empty()) rest.remove_prefix(1);
  DavPath path{kNamespace, "", false};
  if (rest.starts_with('~')) {
    const size_t slash = rest.find('/');
    std::string_view team = rest.substr(1, slash == std::string_view::npos ? std::string_view::npos : slash - 1);
    if (!protocols::IsSafeKeyPath(team, 1, kMaxTeamLength)) {
      return Status::InvalidArgument("bad sccache team: /sccache/~<team>/ with 1..100 characters of [A-Za-z0-9._-]");
    }
    path.ns += "/" + std::string(team);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  path.collection = rest.empty() || rest.back() == '/';
  if (path.collection && !rest.empty()) rest.remove_suffix(1);
  if (!rest.empty() && !protocols::IsSafeKeyPath(rest, 16, 1024)) {
    return Status::InvalidArgument("bad sccache path: segments of [A-Za-z0-9._-], no '..'");
  }
  path.key = std::string(rest);
  return path;
}

void SccacheAdapter::RegisterRoutes(http::Router& router) {
  // "/sccache" itself is the root collection (OpenDAL probes it).
  router.Add(std::string(kPrefix), "sccache", [this](http::Exchange& ex) { return Handle(ex); });
}

awaitable<void> SccacheAdapter::Handle(http::Exchange& ex) {
  auto parsed = ParseDavPath(std::string_view(ex.path()).substr(kPrefix.size()));
  if (!parsed.ok()) co_return co_await protocols::RespondError(ex, 400, parsed.error().message());
  const DavPath& path = *parsed;
  const std::string& ns = path.ns;
  const std::string& key = path.key;
  const verb method = ex.method();
  const std::string_view name = ex.method_string();
  const bool read = method == verb::get || method == verb::head || method == verb::options || name == "PROPFIND";
  if (auto a = protocols::Authorize(ctx_, ex, read ? auth::kScopeRead : auth::kScopeWrite, ns); !a.ok()) {
    co_return co_await protocols::RespondAuthError(ex, a.error());
  }
  if (method == verb::options) {
    ex.SetHeader("DAV", "1");
    ex.SetHeader("Allow", kAllow);
    co_return (void)co_await ex.Respond(200, "", "");
  }
  if (name == "PROPFIND") {
    // The prop request body is not needed; OpenDAL sends a few hundred bytes.
    constexpr uint64_t kPropfindBodyLimit = 64 * 1024;
    if (Status s = co_await protocols::DrainBody(ex, nullptr, kPropfindBodyLimit); !s.ok()) {
      co_return co_await protocols::RespondError(ex, s.code() == Code::kResourceExhausted ? 413 : 400, s.message());
    }
    co_return co_await Propfind(ex, path);
  }
  if (name == "MKCOL") co_return (void)co_await ex.Respond(201, "", "");
  if (path.collection) {
    ex.SetHeader("Allow", "OPTIONS, PROPFIND, MKCOL");
    co_return co_await protocols::RespondError(ex, 405, "a collection has no content");
  }
  if (method == verb::get || method == verb::head) {
    co_await protocols::LookupOr404(ctx_, ex, ns, key, /*serve=*/true);
  } else if (method == verb::put) {
    auto existed = co_await protocols::CacheCall(ctx_, [&] { return ctx_.cache.Contains(ns, key); });
    core::PutOptions options;
    options.ns = ns;
    options.key = key;
    auto result = co_await protocols::StreamUpload(ctx_, ex, std::move(options), ctx_.max_entry_bytes);
    switch (result.error) {
      case UploadError::kNone:
      case UploadError::kExists:
      {
        const unsigned status = existed.ok() && *existed ? 204 : 201;
        co_return (void)co_await ex.Respond(status, "", "");
      }
      case UploadError::kClient: co_return co_await protocols::RespondError(ex, 400, result.status.message());
      case UploadError::kTooLarge: co_return co_await protocols::RespondError(ex, 413, result.status.message());
      case UploadError::kStoreFull: co_return co_await protocols::RespondError(ex, 507, result.status.message());
      case UploadError::kStoreFailure:
        co_return co_await protocols::RespondError(ex, protocols::StoreFailureHttpStatus(result),
                                                   "storage failure: " + result.status.message());
    }
  } else if (method == verb::delete_) {
    auto existed = co_await protocols::CacheCall(ctx_, [&] { return ctx_.cache.Contains(ns, key); });
    if (!existed.ok() || !*existed) co_return co_await protocols::RespondError(ex, 404, "not found");
    Status s = co_await http::RunBlocking(ctx_.workers, [&] { return ctx_.cache.Delete(ns, key); });
    if (s.ok()) co_await ex.Respond(204, "", "");
    else co_await protocols::RespondError(ex, 500, s.message());
  } else {
    ex.SetHeader("Allow", kAllow);
    co_await protocols::RespondError(ex, 405, "method not allowed");
  }
}

awaitable<void> SccacheAdapter::Propfind(http::Exchange& ex, const DavPath& path) {
  DavResource r;
  r.href = ex.path();
  if (!path.collection) {
    auto entry = co_await protocols::CacheCall(ctx_, [&] { return ctx_.cache.Lookup(path.ns, path.key); });
    if (entry.ok() && *entry) {
      r.size = (*entry)->size;
      r.modified_unix_ms = (*entry)->created_ms;
      r.content_type = (*entry)->content_type;
      co_return (void)co_await ex.Respond(207, MultiStatusXml(r), "application/xml; charset=utf-8");
    }
    // Not a file: a collection if some key lives below it.
    auto children = ctx_.cache.index().List(path.ns, path.key + "/", 1);
    if (!children.ok() || children->empty()) co_return co_await protocols::RespondError(ex, 404, "not found");
    r.href += "/";
  }
  // Directories are implied by keys: every collection exists.
  r.collection = true;
  r.modified_unix_ms = ctx_.cache.clock().NowUnixMs();
  co_await ex.Respond(207, MultiStatusXml(r), "application/xml; charset=utf-8");
}

}  // namespace cellar::sccache
