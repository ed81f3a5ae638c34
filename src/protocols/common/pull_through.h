// Pull-through kit: the policy the package proxies (npm, the Go module proxy
// and its checksum-database proxy) apply to what they fetch from upstream,
// written once:
//  - NegativeCache: an upstream "not found" (404/410) is remembered for a
//    TTL, so a bogus name costs one upstream request per TTL, not one per
//    client request. Failures (5xx, timeouts, refused connections) are never
//    remembered: the next request tries again.
//  - MutableDocuments: documents that change upstream (npm packuments, Go
//    lists, checksum-database tree heads) are served from the cache while
//    younger than their max age, then revalidated (a 304 only refreshes the
//    timestamp) or refetched; when the upstream fails, whatever is cached is
//    served, marked stale, at any age. Immutable files (tarballs, zips) use
//    core::Filler instead.
// Both are blocking (index and blob I/O, upstream waits): call them from the
// upstream pool, never from an I/O coroutine. Thread-safe.
//
// Policy table and rationale: docs/pull-through.md.
//
// Single flight: concurrent refreshes of one document share one upstream
// request. That coordination sits behind RefreshFlight, the one place where
// a fleet of cellar nodes would coordinate (a lease per document) instead of
// each node refreshing on its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/cache_service.h"
#include "core/single_flight.h"
#include "env/http_client.h"

namespace cellar::protocols {

class NegativeCache {
 public:
  // One empty entry per missing key in namespace `ns`. `cache` must outlive this.
  NegativeCache(core::CacheService& cache, std::string ns, int64_t ttl_ms);

  // True when the upstream said `key` does not exist less than the TTL ago.
  // A storage fault reads as "not known missing" (the upstream is asked).
  bool Contains(const std::string& key);
  // Remembers a definite upstream "not found" for `key`. Best effort: a
  // failure to store it only costs an upstream request later.
  void Remember(const std::string& key);
  int64_t ttl_ms() const { return ttl_ms_; }

 private:
  core::CacheService& cache_;
  const std::string ns_;
  const int64_t ttl_ms_;
};

// How a served document relates to the upstream.
enum class Freshness {
  kFresh,        // the stored copy, younger than its max age; no upstream request
  kFetched,      // new content from the upstream
  kRevalidated,  // the upstream confirmed the stored copy (304, or the same bytes)
  kStale,        // the upstream failed; the stored copy is served at any age
};

struct MutableDocumentSpec {
  std::string ns;
  std::string key;
  std::string content_type;
  int64_t max_age_ms = 60'000;
  uint64_t max_bytes = 16ULL << 20;  // larger upstream bodies are refused (kResourceExhausted)
  // Sends the upstream request. `cached` is the stored copy, if any, for a
  // conditional request. Must return a response with status 200 (a new
  // body) or 304 (unchanged; only when `cached` is set), or an error:
  // kNotFound when the upstream has no such document, anything else when
  // it failed.
  std::function<Result<std::unique_ptr<env::HttpResponse>>(const index::Entry* cached)> fetch;
  // Optional: the attributes (JSON object text) to store with a new body,
  // e.g. its ETag for the next conditional request.
  std::function<std::string(const env::HttpResponseHead&)> attributes;
  // Optional: the content type to store with a new body (default: content_type).
  std::function<std::string(const env::HttpResponseHead&)> content_type_of;
  // Optional: runs once a new body is stored (e.g. to index it). An error
  // removes the new body again (never serve what could not be processed) and
  // is treated as an upstream failure.
  std::function<Status(const index::Entry&)> after_store;
};

struct Document {
  index::Entry entry;  // read it with CacheService::Get(entry.ns, entry.key)
  Freshness freshness = Freshness::kFresh;
  Status upstream_error;  // kStale: why the upstream could not be used
};

// The single-flight seam (see the file comment). Do() runs `refresh` for
// `key` unless a refresh of that key is already running, in which case it
// waits for that one and returns its result.
class RefreshFlight {
 public:
  virtual ~RefreshFlight() = default;
  virtual Result<index::Entry> Do(const std::string& key,
                                  const std::function<Result<index::Entry>()>& refresh) = 0;
};

// Single flight within this process.
class LocalRefreshFlight : public RefreshFlight {
 public:
  Result<index::Entry> Do(const std::string& key, const std::function<Result<index::Entry>()>& refresh) override {
    return calls_.Do(key, refresh);
  }

 private:
  core::SingleFlight<Result<index::Entry>> calls_;
};

class MutableDocuments {
 public:
  // `cache` and `flight` (when given) must outlive this; null `flight`:
  // single flight within this process.
  explicit MutableDocuments(core::CacheService& cache, RefreshFlight* flight = nullptr);

  // The document for `spec`: the stored copy when younger than
  // `refresh_after_ms` (default, when negative: spec.max_age_ms), else a
  // refreshed one, else (upstream failure) the stored copy at any age,
  // marked kStale. Errors: kNotFound when the upstream has no such document
  // (a stored copy is not served then: the document was removed upstream);
  // the upstream's failure when it fails and nothing is stored.
  Result<Document> Get(const MutableDocumentSpec& spec, int64_t refresh_after_ms = -1);

  // The stored copy when younger than `refresh_after_ms` (default, when
  // negative: spec.max_age_ms), else nullopt. Never contacts the upstream.
  std::optional<index::Entry> Fresh(const MutableDocumentSpec& spec, int64_t refresh_after_ms = -1);

  // The stored copy at any age, or nullopt; never contacts the upstream.
  std::optional<index::Entry> Stored(const std::string& ns, const std::string& key);

 private:
  Result<index::Entry> Refresh(const MutableDocumentSpec& spec);
  // True when another node announced a newer, different version of the
  // document than `cached` (CacheOptions::document_versions).
  bool Superseded(const index::Entry& cached);
  // Tells the fleet this node now holds `entry` as the latest version.
  void Announce(const index::Entry& entry);
  // A document this node has no copy of, with CacheOptions::
  // document_fill_lock: waits until this node may fetch it (`hold` keeps
  // the lease until the caller has stored it), or, when another node held
  // it meanwhile, returns that node's fresh copy from the shared entries.
  std::optional<index::Entry> FromFleetFill(const MutableDocumentSpec& spec, core::FleetFillLock::Hold& hold);
  Result<index::Entry> Store(const MutableDocumentSpec& spec, env::HttpResponse& response);

  core::CacheService& cache_;
  LocalRefreshFlight local_flight_;
  RefreshFlight& flight_;
};

}  // namespace cellar::protocols
