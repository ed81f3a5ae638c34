// npm metadata documents (packuments in their full and abbreviated forms,
// single-version documents): fetched from the upstream as bytes and kept
// fresh by the pull-through kit (max age, revalidation with If-None-Match,
// stale copies when the upstream fails), rendered once per upstream change
// with tarball URLs pointing at cellar, and indexed once per change
// (dist.integrity per tarball). A request never parses a document; it sends
// a stored rendering (substituting the request's base URL while sending
// when no public URL is configured, see npm_adapter.h).
//
// With the upstream failing and nothing stored under the requested form,
// another stored form is served, stale: the full packument answers a
// request for the abbreviated one (it is a valid superset) and the
// abbreviated one a request for the full one (npm installs from it), and a
// single-version document is picked out of a stored packument.
//
// Blocking; call from the upstream pool. Thread-safe; refreshes of one
// document are single-flight.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/cache_service.h"
#include "core/single_flight.h"
#include "env/http_client.h"
#include "protocols/common/pull_through.h"
#include "protocols/npm/npm_metrics.h"
#include "protocols/npm/npm_upstream.h"
#include "protocols/npm/packument.h"

namespace cellar::npm {

struct DocumentKey {
  std::string form;  // "full", "corgi" or "v:<version or dist-tag>"
  std::string name;  // "@scope/name"
  std::string key() const { return form + ":" + name; }
};

using protocols::Freshness;

struct RenderedDocument {
  std::unique_ptr<core::Hit> hit;  // the rendering to send
  Freshness freshness = Freshness::kFresh;
  Status upstream_error;  // why it is stale
  // Tarball URLs in the rendering that start with the render base (for
  // substituting another base while sending).
  uint64_t base_urls = 0;
};

struct DocumentOptions {
  int64_t max_age_ms = 5 * 60'000;
  uint64_t max_document_bytes = 512ULL << 20;
};

class DocumentCache {
 public:
  DocumentCache(core::CacheService& cache, env::HttpClient& client, NpmMetrics& metrics, DocumentOptions options);

  // Fast path (no upstream, no rendering): the stored rendering for
  // `render_base` when the upstream copy is fresh and already rendered.
  std::optional<RenderedDocument> FreshRendering(const DocumentKey& doc, const std::string& render_base);

  // Revalidates or fetches as needed, then renders with tarball URLs below
  // `render_base` ("http://cellar:8080/npm/"). kNotFound when the upstream
  // has no such document; the upstream's failure when it fails and no form
  // of the document is stored. A copy is refreshed once older than the max
  // age, or than `refresh_if_older_than_ms` when that is smaller (>= 0).
  Result<RenderedDocument> Get(const DocumentKey& doc, const NpmUpstream& up, const std::string& render_base,
                               int64_t refresh_if_older_than_ms = -1);

  // The tarball index of `name` from its last fetched packument, if any.
  std::optional<DistIndex> LoadDistIndex(const std::string& name);

 private:
  protocols::MutableDocumentSpec Spec(const DocumentKey& doc, const NpmUpstream& up);
  // The upstream failed and `doc` is not stored: another stored form, stale.
  Result<RenderedDocument> ServeOffline(const DocumentKey& doc, const NpmUpstream& up,
                                        const std::string& render_base, const Status& upstream_error);
  // A single-version document picked out of the stored packument `source`.
  Result<index::Entry> DeriveVersion(const index::Entry& source, const DocumentKey& doc);
  Result<RenderedDocument> Render(const index::Entry& source, const DocumentKey& doc, const NpmUpstream& up,
                                  const std::string& render_base);
  Status StoreDistIndex(const index::Entry& source, const std::string& name);

  core::CacheService& cache_;
  env::HttpClient& client_;
  NpmMetrics& metrics_;
  DocumentOptions options_;
  protocols::MutableDocuments documents_;
  core::SingleFlight<Result<bool>> renders_;
};

}  // namespace cellar::npm
