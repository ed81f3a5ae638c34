#include "protocols/goproxy/fresh_document.h"

#include "http/offload.h"

namespace cellar::goproxy {

namespace asio = boost::asio;
using asio::awaitable;

namespace {
constexpr size_t kMaxDocumentBytes = 16 << 20;

std::string ShortCacheControl(int64_t max_age_ms) {
  return "public, max-age=" + std::to_string(std::max<int64_t>(0, max_age_ms / 1000));
}
}  // namespace

Result<std::string> FreshDocuments::Refresh(const DocumentSpec& spec) {
  return refreshes_.Do(spec.ns + "\n" + spec.key, [&]() -> Result<std::string> {
    CELLAR_ASSIGN_OR_RETURN(auto resp, spec.fetch());
    CELLAR_ASSIGN_OR_RETURN(std::string body, env::ReadAll(*resp, kMaxDocumentBytes));
    core::PutOptions o;
    o.ns = spec.ns;
    o.key = spec.key;
    o.content_type = spec.content_type;
    o.max_age_ms = spec.max_age_ms;
    CELLAR_ASSIGN_OR_RETURN(auto put, ctx_.cache.BeginPut(std::move(o)));
    CELLAR_RETURN_IF_ERROR(put->Write(std::as_bytes(std::span(body.data(), body.size()))));
    CELLAR_RETURN_IF_ERROR(put->Commit().status());
    return body;
  });
}

Result<std::string> FreshDocuments::GetAnyAge(const DocumentSpec& spec) {
  CELLAR_ASSIGN_OR_RETURN(auto hit, ctx_.cache.Get(spec.ns, spec.key));
  if (hit) {
    std::string body;
    body.resize((*hit)->entry().size);
    size_t got = 0;
    while (got < body.size()) {
      CELLAR_ASSIGN_OR_RETURN(size_t n, (*hit)->reader().Read(std::as_writable_bytes(
                                            std::span(body.data() + got, body.size() - got))));
      if (n == 0) return Status::Corruption("cached " + spec.ns + " " + spec.key + " is truncated");
      got += n;
    }
    return body;
  }
  return Refresh(spec);
}

awaitable<DocumentOutcome> FreshDocuments::Serve(http::Exchange& ex, const DocumentSpec& spec,
                                                 Status* error_out) {
  auto cached = ctx_.cache.Get(spec.ns, spec.key);
  std::unique_ptr<core::Hit> hit = cached.ok() && *cached ? std::move(**cached) : nullptr;
  const int64_t now = ctx_.cache.clock().NowUnixMs();
  if (hit && now - hit->entry().fetched_at_ms < spec.max_age_ms) {
    ex.set_cache_result("hit");
    ex.SetHeader("Cache-Control", ShortCacheControl(spec.max_age_ms));
    co_await protocols::ServeHit(ex, *hit);
    co_return DocumentOutcome::kHit;
  }
  auto fetched = co_await http::RunBlocking(ctx_.upstream_pool(), [&] { return Refresh(spec); });
  if (fetched.ok()) {
    ex.set_cache_result(hit ? "revalidated" : "miss");
    ex.SetHeader("Cache-Control", ShortCacheControl(spec.max_age_ms));
    co_await ex.Respond(200, *fetched, spec.content_type);
    co_return hit ? DocumentOutcome::kRevalidated : DocumentOutcome::kFetched;
  }
  if (error_out) *error_out = fetched.error();
  if (fetched.error().IsNotFound()) co_return DocumentOutcome::kNotFound;
  if (hit) {
    ex.set_cache_result("stale");
    ex.SetHeader("X-Cellar-Stale", "1");
    ex.SetHeader("Warning", "110 cellar \"Response is Stale\"");
    ex.SetHeader("Cache-Control", "no-store");
    co_await protocols::ServeHit(ex, *hit);
    co_return DocumentOutcome::kStale;
  }
  ex.set_cache_result("error");
  ex.SetHeader("Cache-Control", "no-store");
  co_await protocols::RespondError(ex, 502, fetched.error().message());
  co_return DocumentOutcome::kError;
}

}  // namespace cellar::goproxy
