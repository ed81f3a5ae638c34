// FreshDocuments: the Go proxy's mutable documents (@v/list, @latest, query
// .info; the checksum database's latest, lookups and partial tiles), kept
// by the pull-through kit (protocols/common/pull_through.h): a copy younger
// than its max age is served from the cache; an older one is refreshed from
// upstream (one refresh per key at a time, shared by every waiting request)
// and served stale, marked, when the upstream fails. Freshness is checked
// at read time, never left to a background reaper.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/cache_service.h"
#include "env/http_client.h"
#include "protocols/common/protocol.h"
#include "protocols/common/pull_through.h"

namespace cellar::goproxy {

struct DocumentSpec {
  std::string ns;
  std::string key;
  std::string content_type;
  int64_t max_age_ms = 60'000;
  // Fetches the current version (a 200 response); kNotFound when the
  // upstream has none, any other error when it failed.
  std::function<Result<std::unique_ptr<env::HttpResponse>>()> fetch;
};

enum class DocumentOutcome { kHit, kFetched, kRevalidated, kStale, kNotFound, kError };

class FreshDocuments {
 public:
  explicit FreshDocuments(protocols::ProtocolContext ctx) : ctx_(ctx), documents_(ctx.cache) {}

  // Answers `ex` with the document, except for kNotFound, which the caller
  // answers (each protocol words it differently). Sets Cache-Control and the
  // cache result; kError has already been answered 502.
  boost::asio::awaitable<DocumentOutcome> Serve(http::Exchange& ex, const DocumentSpec& spec,
                                                Status* error_out = nullptr);

  // Blocking: the document as Serve() would answer it (see
  // MutableDocuments::Get for the contract).
  Result<protocols::Document> Get(const DocumentSpec& spec);

  // Blocking: the cached copy at any age, else a fetched and stored one.
  // For contents that never change once they exist (a lookup's record).
  Result<std::string> GetAnyAge(const DocumentSpec& spec);

 private:
  protocols::MutableDocumentSpec KitSpec(const DocumentSpec& spec) const;

  protocols::ProtocolContext ctx_;
  protocols::MutableDocuments documents_;
};

}  // namespace cellar::goproxy
