#include "protocols/negotiate/velocity_proxy_adapter.h"

#include "protocols/negotiate/granted_upload.h"
#include "protocols/negotiate/negotiate_request.h"

namespace cellar::negotiate {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;
using protocols::RespondError;
using protocols::UploadError;

namespace {
constexpr std::string_view kPrefix = "/v1/proxy/blob/";
// The negotiate API's default namespace: VelocityCache has only one.
constexpr std::string_view kDefaultNamespace = "artifacts";
}  // namespace

VelocityProxyAdapter::VelocityProxyAdapter(protocols::ProtocolContext ctx, const auth::UrlSigner& signer,
                                           metrics::Registry& registry)
    : ctx_(ctx),
      signer_(signer),
      transfers_(registry.AddCounter("cellar_velocity_proxy_transfers_total",
                                     "VelocityCache /v1/proxy/blob/ transfers by operation (put, get) and result "
                                     "(stored, skipped, hit, miss, refused, error).",
                                     {"op", "result"})) {}

void VelocityProxyAdapter::RegisterRoutes(http::Router& router) {
  router.Add(std::string(kPrefix), "velocity", [this](http::Exchange& ex) { return Handle(ex); });
}

awaitable<void> VelocityProxyAdapter::Handle(http::Exchange& ex) {
  const std::string key = ex.path().substr(kPrefix.size());
  const verb method = ex.method();
  if (method != verb::get && method != verb::head && method != verb::put) {
    ex.SetHeader("Allow", "GET, HEAD, PUT");
    co_return co_await RespondError(ex, 405, "method not allowed");
  }
  const bool upload = method == verb::put;
  const char* op = upload ? "put" : "get";
  // Refusals close the connection of an upload rather than read a body
  // nobody will store.
  auto refuse = [&](unsigned status, const std::string& message) -> awaitable<void> {
    transfers_.With({op, "refused"}).Inc();
    if (upload) ex.set_keep_alive(false);
    co_await RespondError(ex, status, message);
  };
  if (!IsValidBlobKey(key)) co_return co_await refuse(400, "blob key must be 1..128 of [A-Za-z0-9_-]");

  // A signed query carries its own namespace and declarations; without one
  // (or with one that no longer holds, when a token is sent too) the
  // request is VelocityCache's own: a bearer token on the default namespace.
  auth::SignedGrant grant;
  bool signed_ok = false;
  if (auto ns = ex.QueryParam("ns"); ns && !ns->empty()) {
    auto verified = signer_.Verify(ex.query(), upload ? "PUT" : "GET", *ns, key, ctx_.cache.clock().NowUnixMs() / 1000);
    if (verified.ok()) {
      grant = std::move(*verified);
      signed_ok = true;
    } else if (!ex.Header("Authorization")) {
      co_return co_await refuse(403, verified.error().message());
    }
  }
  if (!signed_ok) {
    grant = auth::SignedGrant{};
    grant.ns = std::string(kDefaultNamespace);
    grant.key = key;
    auto principal = protocols::Authorize(ctx_, ex, upload ? auth::kScopeWrite : auth::kScopeRead, grant.ns);
    if (!principal.ok()) {
      transfers_.With({op, "refused"}).Inc();
      if (upload) ex.set_keep_alive(false);
      co_return co_await protocols::RespondAuthError(ex, principal.error());
    }
  }
  ex.set_namespace(grant.ns);
  if (upload) co_return co_await HandleUpload(ex, grant);

  auto hit = co_await protocols::CacheCall(ctx_, [&] { return ctx_.cache.Get(grant.ns, key); });
  if (!hit.ok() || !*hit) {
    ex.set_cache_result(hit.ok() ? "miss" : "error");
    transfers_.With({"get", hit.ok() ? "miss" : "error"}).Inc();
    co_return co_await RespondError(ex, 404, "File not found");
  }
  transfers_.With({"get", "hit"}).Inc();
  ex.set_cache_result("hit");
  (void)co_await protocols::ServeHit(ex, ***hit);
}

awaitable<void> VelocityProxyAdapter::HandleUpload(http::Exchange& ex, const auth::SignedGrant& grant) {
  const GrantedUpload upload = co_await StoreGrantedUpload(ctx_, ex, grant, "application/octet-stream");
  transfers_.With({"put", upload.answer.result}).Inc();
  // VelocityCache's answer to a stored upload: 200 and no body.
  if (upload.stored_or_exists()) co_return (void)co_await ex.Respond(200, "", "text/plain; charset=utf-8");
  co_await RespondError(ex, upload.answer.status, upload.message);
}

}  // namespace cellar::negotiate
