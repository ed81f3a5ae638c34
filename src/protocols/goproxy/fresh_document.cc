#include "protocols/goproxy/fresh_document.h"

#include <limits>

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

protocols::MutableDocumentSpec FreshDocuments::KitSpec(const DocumentSpec& spec) const {
  protocols::MutableDocumentSpec kit;
  kit.ns = spec.ns;
  kit.key = spec.key;
  kit.content_type = spec.content_type;
  kit.max_age_ms = spec.max_age_ms;
  kit.max_bytes = kMaxDocumentBytes;
  kit.fetch = [fetch = spec.fetch](const index::Entry*) { return fetch(); };
  return kit;
}

Result<protocols::Document> FreshDocuments::Get(const DocumentSpec& spec) { return documents_.Get(KitSpec(spec)); }

Result<std::string> FreshDocuments::GetAnyAge(const DocumentSpec& spec) {
  CELLAR_ASSIGN_OR_RETURN(auto doc, documents_.Get(KitSpec(spec), std::numeric_limits<int64_t>::max()));
  CELLAR_ASSIGN_OR_RETURN(auto hit, ctx_.cache.Get(doc.entry.ns, doc.entry.key));
  if (!hit) return Status::Unavailable("cached " + spec.ns + " " + spec.key + " vanished");
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

awaitable<DocumentOutcome> FreshDocuments::Serve(http::Exchange& ex, const DocumentSpec& spec,
                                                 Status* error_out) {
  struct Served {
    protocols::Document doc;
    std::unique_ptr<core::Hit> hit;
  };
  auto got = co_await protocols::RunUpstream(ctx_, ex, [&]() -> Result<Served> {
    CELLAR_ASSIGN_OR_RETURN(auto doc, Get(spec));
    CELLAR_ASSIGN_OR_RETURN(auto hit, ctx_.cache.Get(doc.entry.ns, doc.entry.key));
    if (!hit) return Status::Unavailable("cached " + spec.ns + " " + spec.key + " vanished");
    return Served{std::move(doc), std::move(*hit)};
  });
  if (!got.ok()) {
    if (error_out) *error_out = got.error();
    if (got.error().IsNotFound()) co_return DocumentOutcome::kNotFound;
    ex.set_cache_result("error");
    ex.SetHeader("Cache-Control", "no-store");
    co_await protocols::RespondError(ex, 502, got.error().message());
    co_return DocumentOutcome::kError;
  }
  DocumentOutcome outcome = DocumentOutcome::kHit;
  switch (got->doc.freshness) {
    case protocols::Freshness::kFresh:
      ex.set_cache_result("hit");
      break;
    case protocols::Freshness::kFetched:
      ex.set_cache_result("miss");
      outcome = DocumentOutcome::kFetched;
      break;
    case protocols::Freshness::kRevalidated:
      ex.set_cache_result("revalidated");
      outcome = DocumentOutcome::kRevalidated;
      break;
    case protocols::Freshness::kStale:
      if (error_out) *error_out = got->doc.upstream_error;
      ex.set_cache_result("stale");
      ex.SetHeader("X-Cellar-Stale", "1");
      ex.SetHeader("Warning", "110 cellar \"Response is Stale\"");
      ex.SetHeader("Cache-Control", "no-store");
      co_await protocols::ServeHit(ex, *got->hit);
      co_return DocumentOutcome::kStale;
  }
  ex.SetHeader("Cache-Control", ShortCacheControl(spec.max_age_ms));
  co_await protocols::ServeHit(ex, *got->hit);
  co_return outcome;
}

}  // namespace cellar::goproxy
