#include "protocols/npm/document_cache.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <istream>
#include <streambuf>
#include <vector>

#include "base/digest.h"
#include "protocols/npm/npm_path.h"

namespace cellar::npm {

namespace {

constexpr const char* kUpstreamNs = "npm/upstream";   // documents as the upstream sent them
constexpr const char* kRenderedNs = "npm/rendered";   // rewritten for one public base URL
constexpr const char* kDistNs = "npm/dist";           // tarball file -> integrity, per package
constexpr const char* kCorgiAccept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

// Reads a stored blob as a std::istream (for the SAX parser).
class BlobStreamBuf : public std::streambuf {
 public:
  explicit BlobStreamBuf(store::BlobReader& reader) : reader_(reader), buf_(64 * 1024) {}
  bool failed() const { return failed_; }

 protected:
  int_type underflow() override {
    auto n = reader_.Read(std::as_writable_bytes(std::span(buf_.data(), buf_.size())));
    if (!n.ok() || *n == 0) {
      failed_ = !n.ok();
      return traits_type::eof();
    }
    setg(buf_.data(), buf_.data(), buf_.data() + *n);
    return traits_type::to_int_type(buf_[0]);
  }

 private:
  store::BlobReader& reader_;
  std::vector<char> buf_;
  bool failed_ = false;
};

std::string AttrString(const std::string& attributes, const char* field) {
  auto j = nlohmann::json::parse(attributes, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains(field) || !j[field].is_string()) return "";
  return j[field].get<std::string>();
}

std::string RenderedKey(const DocumentKey& doc, const std::string& public_base) {
  return doc.key() + "|" + public_base;
}

}  // namespace

DocumentCache::DocumentCache(core::CacheService& cache, env::HttpClient& client, NpmMetrics& metrics,
                             DocumentOptions options)
    : cache_(cache), client_(client), metrics_(metrics), options_(options) {}

std::unique_ptr<core::Hit> DocumentCache::FreshRendering(const DocumentKey& doc, const std::string& public_base) {
  auto source = cache_.Lookup(kUpstreamNs, doc.key());
  if (!source.ok() || !*source) return nullptr;
  if (cache_.clock().NowUnixMs() - (*source)->fetched_at_ms >= options_.max_age_ms) return nullptr;
  auto rendered = cache_.Get(kRenderedNs, RenderedKey(doc, public_base));
  if (!rendered.ok() || !*rendered) return nullptr;
  if (AttrString((**rendered)->entry().attributes, "src") != (*source)->digest.Hex()) return nullptr;
  return std::move(**rendered);
}

std::optional<DistIndex> DocumentCache::LoadDistIndex(const std::string& name) {
  auto hit = cache_.Get(kDistNs, name);
  if (!hit.ok() || !*hit) return std::nullopt;
  std::string text;
  std::byte buf[16384];
  while (true) {
    auto n = (**hit)->reader().Read(buf);
    if (!n.ok()) return std::nullopt;
    if (*n == 0) break;
    text.append(reinterpret_cast<const char*>(buf), *n);
  }
  return ParseDistIndex(text);
}

Status DocumentCache::StoreDistIndex(const index::Entry& source, const std::string& name) {
  CELLAR_ASSIGN_OR_RETURN(auto hit, cache_.Get(source.ns, source.key));
  if (!hit) return Status::NotFound("document vanished while indexing");
  BlobStreamBuf buf((*hit)->reader());
  std::istream in(&buf);
  auto index = ExtractDistIndex(in);
  if (buf.failed()) return Status::Unavailable("reading stored packument of " + name + " failed");
  if (!index.ok()) return index.error().WithContext("upstream packument of " + name);
  std::string text = SerializeDistIndex(*index);
  core::PutOptions o;
  o.ns = kDistNs;
  o.key = name;
  o.content_type = "text/tab-separated-values";
  CELLAR_ASSIGN_OR_RETURN(auto put, cache_.BeginPut(std::move(o)));
  CELLAR_RETURN_IF_ERROR(put->Write(std::as_bytes(std::span(text.data(), text.size()))));
  return put->Commit().status();
}

Result<index::Entry> DocumentCache::Refresh(const DocumentKey& doc, const NpmUpstream& up) {
  return refreshes_.Do(doc.key(), [&]() -> Result<index::Entry> {
    auto old = cache_.Lookup(kUpstreamNs, doc.key());
    std::string old_etag = old.ok() && *old ? AttrString((*old)->attributes, "etag") : "";
    const bool is_version = doc.form.starts_with("v:");
    const char* kind = is_version ? "version" : "packument";

    env::HttpRequest req;
    req.url = up.base_url + EscapedName(doc.name);
    if (is_version) req.url += "/" + doc.form.substr(2);
    req.headers.emplace_back("Accept", doc.form == "corgi" ? kCorgiAccept : "application/json");
    if (!old_etag.empty()) req.headers.emplace_back("If-None-Match", old_etag);
    metrics_.upstream_requests.With({kind}).Inc();
    auto started = std::chrono::steady_clock::now();
    auto resp = SendUpstream(client_, up, req, {304});
    metrics_.upstream_seconds.With({kind}).Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!resp.ok()) return resp.error();

    const auto& head = (*resp)->head();
    if (head.status == 304 && old.ok() && *old) {
      CELLAR_RETURN_IF_ERROR(cache_.MarkFetched(kUpstreamNs, doc.key()));
      CELLAR_ASSIGN_OR_RETURN(auto entry, cache_.Lookup(kUpstreamNs, doc.key()));
      if (!entry) return Status::Unavailable("revalidated document vanished");
      return *entry;
    }
    if (head.status != 200) return Status::Unavailable("npm upstream answered " + std::to_string(head.status));

    nlohmann::json attrs = nlohmann::json::object();
    if (auto etag = head.Header("ETag")) attrs["etag"] = *etag;
    if (auto lm = head.Header("Last-Modified")) attrs["last_modified"] = *lm;
    core::PutOptions o;
    o.ns = kUpstreamNs;
    o.key = doc.key();
    o.content_type = doc.form == "corgi" ? head.Header("Content-Type").value_or("application/json")
                                         : "application/json";
    o.attributes = attrs.dump();
    o.max_age_ms = options_.max_age_ms;
    CELLAR_ASSIGN_OR_RETURN(auto put, cache_.BeginPut(std::move(o)));
    std::vector<std::byte> buf(256 * 1024);
    uint64_t total = 0;
    while (true) {
      CELLAR_ASSIGN_OR_RETURN(size_t n, (*resp)->Read(buf));
      if (n == 0) break;
      total += n;
      if (total > options_.max_document_bytes) {
        return Status::ResourceExhausted(doc.name + ": upstream document is larger than " +
                                         std::to_string(options_.max_document_bytes) + " bytes");
      }
      CELLAR_RETURN_IF_ERROR(put->Write(std::span(buf.data(), n)));
    }
    CELLAR_ASSIGN_OR_RETURN(auto entry, put->Commit());
    if (!is_version) {
      Status indexed = StoreDistIndex(entry, doc.name);
      if (!indexed.ok()) {
        (void)cache_.Delete(kUpstreamNs, doc.key());  // never serve what cannot be parsed
        return indexed;
      }
    }
    return entry;
  });
}

Result<std::unique_ptr<core::Hit>> DocumentCache::Render(const index::Entry& source, const DocumentKey& doc,
                                                         const NpmUpstream& up, const std::string& public_base) {
  const std::string key = RenderedKey(doc, public_base);
  const std::string src = source.digest.Hex();
  auto rendered = renders_.Do(key, [&]() -> Result<bool> {
    if (auto existing = cache_.Lookup(kRenderedNs, key);
        existing.ok() && *existing && AttrString((*existing)->attributes, "src") == src) {
      return true;  // another request rendered it meanwhile
    }
    CELLAR_ASSIGN_OR_RETURN(auto hit, cache_.Get(source.ns, source.key));
    if (!hit) return Status::Unavailable("document vanished while rendering");
    core::PutOptions o;
    o.ns = kRenderedNs;
    o.key = key;
    o.content_type = source.content_type;
    o.attributes = nlohmann::json{{"src", src}}.dump();
    CELLAR_ASSIGN_OR_RETURN(auto put, cache_.BeginPut(std::move(o)));
    TarballUrlRewriter rewriter(up.base_url, public_base);
    std::vector<std::byte> buf(256 * 1024);
    std::string out;
    while (true) {
      CELLAR_ASSIGN_OR_RETURN(size_t n, (*hit)->reader().Read(buf));
      out.clear();
      if (n == 0) {
        rewriter.Finish(out);
      } else {
        rewriter.Feed(std::string_view(reinterpret_cast<const char*>(buf.data()), n), out);
      }
      CELLAR_RETURN_IF_ERROR(put->Write(std::as_bytes(std::span(out.data(), out.size()))));
      if (n == 0) break;
    }
    CELLAR_RETURN_IF_ERROR(put->Commit().status());
    return true;
  });
  if (!rendered.ok()) return rendered.error();
  CELLAR_ASSIGN_OR_RETURN(auto hit, cache_.Get(kRenderedNs, key));
  if (!hit) return Status::Unavailable("rendered document vanished");
  return std::move(*hit);
}

Result<RenderedDocument> DocumentCache::Get(const DocumentKey& doc, const NpmUpstream& up,
                                            const std::string& public_base, int64_t refresh_if_older_than_ms) {
  RenderedDocument result;
  CELLAR_ASSIGN_OR_RETURN(auto source, cache_.Lookup(kUpstreamNs, doc.key()));
  int64_t max_age = options_.max_age_ms;
  if (refresh_if_older_than_ms >= 0) max_age = std::min(max_age, refresh_if_older_than_ms);
  const bool fresh = source && cache_.clock().NowUnixMs() - source->fetched_at_ms < max_age;
  if (!fresh) {
    auto refreshed = Refresh(doc, up);
    if (refreshed.ok()) {
      result.freshness =
          source && refreshed->digest == source->digest ? Freshness::kRevalidated : Freshness::kFetched;
      source = *refreshed;
    } else if (refreshed.error().IsNotFound() || !source) {
      return refreshed.error();
    } else {
      result.freshness = Freshness::kStale;
      result.upstream_error = refreshed.error();
    }
  }
  CELLAR_ASSIGN_OR_RETURN(result.hit, Render(*source, doc, up, public_base));
  return result;
}

}  // namespace cellar::npm
