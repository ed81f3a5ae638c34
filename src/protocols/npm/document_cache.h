// npm metadata documents (packuments in their full and abbreviated forms,
// single-version documents): fetched from the upstream as bytes, revalidated
// with If-None-Match once older than the max age (a 304 only refreshes the
// timestamp), rendered once per public base URL with tarball URLs pointing
// at cellar, and indexed once per change (dist.integrity per tarball). A
// request never parses or rewrites a document; it sends a stored rendering.
// Blocking; call from the upstream pool. Thread-safe; refreshes of one
// document are single-flight.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/cache_service.h"
#include "core/single_flight.h"
#include "env/http_client.h"
#include "protocols/npm/npm_metrics.h"
#include "protocols/npm/npm_upstream.h"
#include "protocols/npm/packument.h"

namespace cellar::npm {

struct DocumentKey {
  std::string form;  // "full", "corgi" or "v:<version>"
  std::string name;  // "@scope/name"
  std::string key() const { return form + ":" + name; }
};

enum class Freshness { kFresh, kFetched, kRevalidated, kStale };

struct RenderedDocument {
  std::unique_ptr<core::Hit> hit;  // the rendering to send
  Freshness freshness = Freshness::kFresh;
  Status upstream_error;  // why it is stale
};

struct DocumentOptions {
  int64_t max_age_ms = 5 * 60'000;
  uint64_t max_document_bytes = 512ULL << 20;
};

class DocumentCache {
 public:
  DocumentCache(core::CacheService& cache, env::HttpClient& client, NpmMetrics& metrics, DocumentOptions options);

  // Fast path (no upstream, no rendering): the stored rendering for
  // `public_base` when the upstream copy is fresh and already rendered.
  std::unique_ptr<core::Hit> FreshRendering(const DocumentKey& doc, const std::string& public_base);

  // Revalidates or fetches as needed, then renders for `public_base`
  // ("http://cellar:8080/npm/"). kNotFound when the upstream has no such
  // document; kUnavailable when it fails and nothing is cached. A copy is
  // refreshed once older than the max age, or than
  // `refresh_if_older_than_ms` when that is smaller (>= 0).
  Result<RenderedDocument> Get(const DocumentKey& doc, const NpmUpstream& up, const std::string& public_base,
                               int64_t refresh_if_older_than_ms = -1);

  // The tarball index of `name` from its last fetched packument, if any.
  std::optional<DistIndex> LoadDistIndex(const std::string& name);

 private:
  Result<index::Entry> Refresh(const DocumentKey& doc, const NpmUpstream& up);
  Result<std::unique_ptr<core::Hit>> Render(const index::Entry& source, const DocumentKey& doc,
                                            const NpmUpstream& up, const std::string& public_base);
  Status StoreDistIndex(const index::Entry& source, const std::string& name);

  core::CacheService& cache_;
  env::HttpClient& client_;
  NpmMetrics& metrics_;
  DocumentOptions options_;
  core::SingleFlight<Result<index::Entry>> refreshes_;
  core::SingleFlight<Result<bool>> renders_;
};

}  // namespace cellar::npm
