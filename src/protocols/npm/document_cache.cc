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
constexpr const char* kDerivedNs = "npm/derived";     // single-version documents picked out of packuments
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

uint64_t AttrUint(const std::string& attributes, const char* field) {
  auto j = nlohmann::json::parse(attributes, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains(field) || !j[field].is_number_unsigned()) return 0;
  return j[field].get<uint64_t>();
}

std::string RenderedKey(const DocumentKey& doc, const std::string& render_base) {
  return doc.key() + "|" + render_base;
}

}  // namespace

DocumentCache::DocumentCache(core::CacheService& cache, env::HttpClient& client, NpmMetrics& metrics,
                             DocumentOptions options)
    : cache_(cache), client_(client), metrics_(metrics), options_(options), documents_(cache) {}

std::optional<RenderedDocument> DocumentCache::FreshRendering(const DocumentKey& doc,
                                                              const std::string& render_base) {
  protocols::MutableDocumentSpec spec;
  spec.ns = kUpstreamNs;
  spec.key = doc.key();
  spec.max_age_ms = options_.max_age_ms;
  auto source = documents_.Fresh(spec);
  if (!source) return std::nullopt;
  auto rendered = cache_.Get(kRenderedNs, RenderedKey(doc, render_base));
  if (!rendered.ok() || !*rendered) return std::nullopt;
  const std::string& attributes = (**rendered)->entry().attributes;
  if (AttrString(attributes, "src") != source->digest.Hex()) return std::nullopt;
  RenderedDocument out;
  out.base_urls = AttrUint(attributes, "urls");
  out.hit = std::move(**rendered);
  return out;
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
  o.local_only = true;  // derived from this node's packument
  o.key = name;
  o.content_type = "text/tab-separated-values";
  CELLAR_ASSIGN_OR_RETURN(auto put, cache_.BeginPut(std::move(o)));
  CELLAR_RETURN_IF_ERROR(put->Write(std::as_bytes(std::span(text.data(), text.size()))));
  return put->Commit().status();
}

protocols::MutableDocumentSpec DocumentCache::Spec(const DocumentKey& doc, const NpmUpstream& up) {
  const bool is_version = doc.form.starts_with("v:");
  const bool corgi = doc.form == "corgi";
  protocols::MutableDocumentSpec spec;
  spec.ns = kUpstreamNs;
  spec.key = doc.key();
  spec.content_type = "application/json";
  spec.max_age_ms = options_.max_age_ms;
  spec.max_bytes = options_.max_document_bytes;
  spec.fetch = [this, doc, is_version, corgi, &up](const index::Entry* cached) {
    const char* kind = is_version ? "version" : "packument";
    env::HttpRequest req;
    req.url = up.base_url + EscapedName(doc.name);
    if (is_version) req.url += "/" + doc.form.substr(2);
    req.headers.emplace_back("Accept", corgi ? kCorgiAccept : "application/json");
    if (std::string etag = cached ? AttrString(cached->attributes, "etag") : ""; !etag.empty()) {
      req.headers.emplace_back("If-None-Match", etag);
    }
    metrics_.upstream_requests.With({kind}).Inc();
    auto started = std::chrono::steady_clock::now();
    auto resp = SendUpstream(client_, up, req, {304});
    metrics_.upstream_seconds.With({kind}).Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return resp;
  };
  spec.attributes = [](const env::HttpResponseHead& head) {
    nlohmann::json attrs = nlohmann::json::object();
    if (auto etag = head.Header("ETag")) attrs["etag"] = *etag;
    if (auto lm = head.Header("Last-Modified")) attrs["last_modified"] = *lm;
    return attrs.dump();
  };
  if (corgi) {
    spec.content_type_of = [](const env::HttpResponseHead& head) {
      return head.Header("Content-Type").value_or("application/json");
    };
  }
  if (!is_version) {
    spec.after_store = [this, name = doc.name](const index::Entry& entry) { return StoreDistIndex(entry, name); };
  }
  return spec;
}

Result<RenderedDocument> DocumentCache::Render(const index::Entry& source, const DocumentKey& doc,
                                               const NpmUpstream& up, const std::string& render_base) {
  const std::string key = RenderedKey(doc, render_base);
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
    o.local_only = true;  // derived from this node's packument
    o.key = key;
    o.content_type = source.content_type;
    CELLAR_ASSIGN_OR_RETURN(auto put, cache_.BeginPut(std::move(o)));
    TarballUrlRewriter rewriter(up.base_url, render_base);
    // Counts the URLs below the render base in the output (rewritten ones
    // and any that were there already), for substitution while sending.
    TarballUrlRewriter counter(render_base, render_base);
    std::vector<std::byte> buf(256 * 1024);
    std::string out, ignored;
    while (true) {
      CELLAR_ASSIGN_OR_RETURN(size_t n, (*hit)->reader().Read(buf));
      out.clear();
      ignored.clear();
      if (n == 0) {
        rewriter.Finish(out);
        counter.Feed(out, ignored);
        counter.Finish(ignored);
      } else {
        rewriter.Feed(std::string_view(reinterpret_cast<const char*>(buf.data()), n), out);
        counter.Feed(out, ignored);
      }
      CELLAR_RETURN_IF_ERROR(put->Write(std::as_bytes(std::span(out.data(), out.size()))));
      if (n == 0) break;
    }
    put->set_attributes(nlohmann::json{{"src", src}, {"urls", counter.rewritten()}}.dump());
    CELLAR_RETURN_IF_ERROR(put->Commit().status());
    return true;
  });
  if (!rendered.ok()) return rendered.error();
  CELLAR_ASSIGN_OR_RETURN(auto hit, cache_.Get(kRenderedNs, key));
  if (!hit) return Status::Unavailable("rendered document vanished");
  RenderedDocument out;
  out.base_urls = AttrUint((*hit)->entry().attributes, "urls");
  out.hit = std::move(*hit);
  return out;
}

Result<index::Entry> DocumentCache::DeriveVersion(const index::Entry& source, const DocumentKey& doc) {
  const std::string version = doc.form.substr(2);
  const std::string src = source.digest.Hex();
  if (auto existing = cache_.Lookup(kDerivedNs, doc.key());
      existing.ok() && *existing && AttrString((*existing)->attributes, "src") == src) {
    return **existing;
  }
  auto parse = [&](auto&& pick) -> Result<std::string> {
    CELLAR_ASSIGN_OR_RETURN(auto hit, cache_.Get(source.ns, source.key));
    if (!hit) return Status::Unavailable("document vanished while reading");
    BlobStreamBuf buf((*hit)->reader());
    std::istream in(&buf);
    auto picked = pick(in);
    if (buf.failed()) return Status::Unavailable("reading stored packument of " + doc.name + " failed");
    return picked;
  };
  auto body = parse([&](std::istream& in) { return PickVersionDocument(in, version); });
  if (!body.ok() && body.error().IsNotFound()) {
    // Not a version: perhaps a dist-tag ("latest").
    auto tagged = parse([&](std::istream& in) { return ResolveDistTag(in, version); });
    if (!tagged.ok()) return tagged.error();
    body = parse([&](std::istream& in) { return PickVersionDocument(in, *tagged); });
  }
  if (!body.ok()) return body.error();
  core::PutOptions o;
  o.ns = kDerivedNs;
  o.local_only = true;  // derived from this node's packument
  o.key = doc.key();
  o.content_type = "application/json";
  o.attributes = nlohmann::json{{"src", src}}.dump();
  CELLAR_ASSIGN_OR_RETURN(auto put, cache_.BeginPut(std::move(o)));
  CELLAR_RETURN_IF_ERROR(put->Write(std::as_bytes(std::span(body->data(), body->size()))));
  return put->Commit();
}

Result<RenderedDocument> DocumentCache::ServeOffline(const DocumentKey& doc, const NpmUpstream& up,
                                                     const std::string& render_base, const Status& upstream_error) {
  auto stale = [&](Result<RenderedDocument> rendered) -> Result<RenderedDocument> {
    if (!rendered.ok()) return rendered;
    rendered->freshness = Freshness::kStale;
    rendered->upstream_error = upstream_error;
    return rendered;
  };
  if (!doc.form.starts_with("v:")) {
    DocumentKey other{doc.form == "corgi" ? "full" : "corgi", doc.name};
    auto source = documents_.Stored(kUpstreamNs, other.key());
    if (!source) return upstream_error;
    return stale(Render(*source, other, up, render_base));
  }
  for (const char* form : {"full", "corgi"}) {
    auto source = documents_.Stored(kUpstreamNs, DocumentKey{form, doc.name}.key());
    if (!source) continue;
    auto derived = DeriveVersion(*source, doc);
    // A stored packument without that version may just be older than it:
    // the upstream's failure is the honest answer.
    if (!derived.ok()) return upstream_error;
    return stale(Render(*derived, DocumentKey{"derived-" + doc.form, doc.name}, up, render_base));
  }
  return upstream_error;
}

Result<RenderedDocument> DocumentCache::Get(const DocumentKey& doc, const NpmUpstream& up,
                                            const std::string& render_base, int64_t refresh_if_older_than_ms) {
  int64_t refresh_after = options_.max_age_ms;
  if (refresh_if_older_than_ms >= 0) refresh_after = std::min(refresh_after, refresh_if_older_than_ms);
  auto got = documents_.Get(Spec(doc, up), refresh_after);
  if (!got.ok()) {
    if (got.error().IsNotFound()) return got.error();
    return ServeOffline(doc, up, render_base, got.error());
  }
  if (doc.form == "full" || doc.form == "corgi") {
    // The tarball index is an entry of its own and can be evicted while the
    // packument stays; a revalidation answered 304 stores nothing, so it
    // would never come back and every tarball of the package would be 404
    // until the packument changed (the chaos run found this).
    auto indexed = cache_.Contains(kDistNs, doc.name);
    if (indexed.ok() && !*indexed) (void)StoreDistIndex(got->entry, doc.name);
  }
  CELLAR_ASSIGN_OR_RETURN(RenderedDocument result, Render(got->entry, doc, up, render_base));
  result.freshness = got->freshness;
  result.upstream_error = got->upstream_error;
  return result;
}

}  // namespace cellar::npm
