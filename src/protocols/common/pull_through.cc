#include "protocols/common/pull_through.h"

#include <limits>
#include <vector>

namespace cellar::protocols {

NegativeCache::NegativeCache(core::CacheService& cache, std::string ns, int64_t ttl_ms)
    : cache_(cache), ns_(std::move(ns)), ttl_ms_(ttl_ms) {}

bool NegativeCache::Contains(const std::string& key) {
  if (ttl_ms_ <= 0) return false;
  auto entry = cache_.index().Get(ns_, key);
  if (!entry.ok() || !*entry) return false;
  return cache_.clock().NowUnixMs() - (*entry)->fetched_at_ms < (*entry)->max_age_ms;
}

void NegativeCache::Remember(const std::string& key) {
  if (ttl_ms_ <= 0) return;
  core::PutOptions o;
  o.ns = ns_;
  o.key = key;
  o.max_age_ms = ttl_ms_;
  o.local_only = true;  // this node's memory of a 404: not worth a bucket write
  auto put = cache_.BeginPut(std::move(o));
  if (put.ok()) (void)(*put)->Commit();
}

MutableDocuments::MutableDocuments(core::CacheService& cache, RefreshFlight* flight)
    : cache_(cache), flight_(flight ? *flight : local_flight_) {}

std::optional<index::Entry> MutableDocuments::Stored(const std::string& ns, const std::string& key) {
  auto entry = cache_.Lookup(ns, key);
  if (!entry.ok() || !*entry) return std::nullopt;
  return **entry;
}

bool MutableDocuments::Superseded(const index::Entry& cached) {
  index::DocumentVersions* versions = cache_.options().document_versions;
  if (versions == nullptr) return false;
  auto latest = versions->Latest(cached.ns, cached.key);
  if (!latest.ok() || !latest->has_value()) return false;  // nothing known: the copy's age decides
  return (*latest)->digest != cached.digest && (*latest)->fetched_ms > cached.fetched_at_ms;
}

void MutableDocuments::Announce(const index::Entry& entry) {
  if (index::DocumentVersions* versions = cache_.options().document_versions) {
    (void)versions->Announce(entry.ns, entry.key, index::DocumentVersion{entry.digest, entry.fetched_at_ms});
  }
}

std::optional<index::Entry> MutableDocuments::Fresh(const MutableDocumentSpec& spec, int64_t refresh_after_ms) {
  if (refresh_after_ms < 0) refresh_after_ms = spec.max_age_ms;
  auto entry = Stored(spec.ns, spec.key);
  if (!entry || cache_.clock().NowUnixMs() - entry->fetched_at_ms >= refresh_after_ms) return std::nullopt;
  if (Superseded(*entry)) return std::nullopt;
  return entry;
}

Result<index::Entry> MutableDocuments::Store(const MutableDocumentSpec& spec, env::HttpResponse& response) {
  const auto& head = response.head();
  core::PutOptions o;
  o.ns = spec.ns;
  o.key = spec.key;
  o.content_type = spec.content_type_of ? spec.content_type_of(head) : spec.content_type;
  if (spec.attributes) o.attributes = spec.attributes(head);
  o.max_age_ms = spec.max_age_ms;
  CELLAR_ASSIGN_OR_RETURN(auto put, cache_.BeginPut(std::move(o)));
  std::vector<std::byte> buf(256 * 1024);
  uint64_t total = 0;
  while (true) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, response.Read(buf));
    if (n == 0) break;
    total += n;
    if (total > spec.max_bytes) {
      return Status::ResourceExhausted(spec.key + ": upstream document is larger than " +
                                       std::to_string(spec.max_bytes) + " bytes");
    }
    CELLAR_RETURN_IF_ERROR(put->Write(std::span(buf.data(), n)));
  }
  CELLAR_ASSIGN_OR_RETURN(auto entry, put->Commit());
  if (spec.after_store) {
    if (Status s = spec.after_store(entry); !s.ok()) {
      (void)cache_.Delete(spec.ns, spec.key);
      return s;
    }
  }
  return entry;
}

Result<index::Entry> MutableDocuments::Refresh(const MutableDocumentSpec& spec) {
  return flight_.Do(spec.ns + "\n" + spec.key, [&]() -> Result<index::Entry> {
    auto cached = Stored(spec.ns, spec.key);
    // Held until the document is stored (and so shared): see FromFleetFill.
    core::FleetFillLock::Hold hold;
    if (!cached) {
      if (auto fleet = FromFleetFill(spec, hold)) return *fleet;
      cached = Stored(spec.ns, spec.key);  // an old copy the holder left, to revalidate
    }
    CELLAR_ASSIGN_OR_RETURN(auto response, spec.fetch(cached ? &*cached : nullptr));
    const int status = response->head().status;
    if (status == 304 && cached) {
      CELLAR_RETURN_IF_ERROR(cache_.MarkFetched(spec.ns, spec.key));
      auto entry = Stored(spec.ns, spec.key);
      if (!entry) return Status::Unavailable("revalidated document " + spec.key + " vanished");
      Announce(*entry);
      return *entry;
    }
    if (status != 200) {
      return Status::Unavailable("upstream answered " + std::to_string(status) + " for " + spec.key);
    }
    CELLAR_ASSIGN_OR_RETURN(index::Entry stored, Store(spec, *response));
    Announce(stored);
    return stored;
  });
}

std::optional<index::Entry> MutableDocuments::FromFleetFill(const MutableDocumentSpec& spec,
                                                            core::FleetFillLock::Hold& hold) {
  core::FleetFillLock* lock = cache_.options().document_fill_lock;
  if (lock == nullptr) return std::nullopt;
  hold = lock->Acquire(core::FleetFillLock::LeaseKey(spec.ns, spec.key));
  if (!hold.waited) return std::nullopt;
  // The node that held it has fetched and shared the document, unless its
  // fetch failed: look again, past a miss remembered before it finished.
  cache_.ForgetSharedMiss(spec.ns, spec.key);
  auto shared = Stored(spec.ns, spec.key);
  if (!shared || cache_.clock().NowUnixMs() - shared->fetched_at_ms >= spec.max_age_ms) return std::nullopt;
  return shared;
}

Result<Document> MutableDocuments::Get(const MutableDocumentSpec& spec, int64_t refresh_after_ms) {
  if (refresh_after_ms < 0) refresh_after_ms = spec.max_age_ms;
  Document doc;
  auto cached = Stored(spec.ns, spec.key);
  if (cached && cache_.clock().NowUnixMs() - cached->fetched_at_ms < refresh_after_ms && !Superseded(*cached)) {
    doc.entry = std::move(*cached);
    return doc;
  }
  auto refreshed = Refresh(spec);
  if (refreshed.ok()) {
    doc.freshness = cached && refreshed->digest == cached->digest ? Freshness::kRevalidated : Freshness::kFetched;
    doc.entry = std::move(*refreshed);
    return doc;
  }
  if (refreshed.error().IsNotFound()) return refreshed.error();
  // The upstream failed: anything stored is served, at any age. (Looked up
  // again: a concurrent refresh may have stored a copy meanwhile.)
  if (!cached) cached = Stored(spec.ns, spec.key);
  if (!cached) return refreshed.error();
  doc.entry = std::move(*cached);
  doc.freshness = Freshness::kStale;
  doc.upstream_error = refreshed.error();
  return doc;
}

}  // namespace cellar::protocols
