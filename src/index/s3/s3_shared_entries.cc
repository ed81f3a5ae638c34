#include "index/s3/s3_shared_entries.h"

#include <nlohmann/json.hpp>

#include "hash/blake3.h"

namespace cellar::index {

namespace {
constexpr int kManifestVersion = 1;
constexpr size_t kMaxManifestBytes = 1 << 20;
// Longer escaped namespaces are hashed too: S3 keys end at 1024 bytes.
constexpr size_t kMaxReadableNamespace = 200;

std::string NormalizePrefix(std::string prefix) {
  while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix.empty() ? "" : prefix + "/";
}

std::string HashHex(std::string_view s) {
  hash::Blake3Hasher hasher;
  hasher.Update(s.data(), s.size());
  auto out = hasher.Finalize();
  return ToHex(out);
}

// One path segment: '/' in a namespace ("bazel/ac") must not add a level.
std::string EscapeSegment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  // "." and ".." are legal S3 keys but confuse tools that treat keys as paths.
  if (out.empty() || out == "." || out == "..") out = "%" + out;
  if (out.size() > kMaxReadableNamespace) out = "h-" + HashHex(s);
  return out;
}

std::string Describe(const std::string& ns, const std::string& key) { return "shared entry " + ns + "/" + key; }
}  // namespace

S3SharedEntries::S3SharedEntries(s3::S3Client& client, std::string prefix)
    : client_(client), entries_prefix_(NormalizePrefix(std::move(prefix)) + "entries/") {}

std::string S3SharedEntries::ObjectKey(const std::string& ns, const std::string& key) const {
  return entries_prefix_ + EscapeSegment(ns) + "/" + HashHex(key);
}

Status S3SharedEntries::Publish(const Entry& entry, PutMode mode) {
  s3::StringBody body(EncodeManifest(entry));
  s3::PutOptions options;
  options.if_absent = mode == PutMode::kIfAbsent;
  Status s = client_.PutObject(ObjectKey(entry.ns, entry.key), body, options);
  return s.ok() ? s : s.WithContext("publishing " + Describe(entry.ns, entry.key));
}

Result<std::optional<Entry>> S3SharedEntries::Find(const std::string& ns, const std::string& key) {
  const std::string what = "reading " + Describe(ns, key);
  auto got = client_.GetObject(ObjectKey(ns, key));
  if (!got.ok()) return got.error().WithContext(what);
  if (!*got) return std::optional<Entry>();
  auto body = s3::ReadAllObject(***got, kMaxManifestBytes);
  if (!body.ok()) return body.error().WithContext(what);
  auto entry = DecodeManifest(*body);
  if (!entry.ok()) return entry.error().WithContext(what);
  if (entry->ns != ns || entry->key != key) {
    return Status::Corruption(what + ": the object names " + entry->ns + "/" + entry->key);
  }
  return std::optional<Entry>(std::move(*entry));
}

Status S3SharedEntries::Withdraw(const std::string& ns, const std::string& key) {
  Status s = client_.DeleteObject(ObjectKey(ns, key));
  return s.ok() ? s : s.WithContext("removing " + Describe(ns, key));
}

std::string EncodeManifest(const Entry& entry) {
  nlohmann::json j = {
      {"v", kManifestVersion},
      {"ns", entry.ns},
      {"key", entry.key},
      {"digest", entry.digest.Hex()},
      {"size", entry.size},
      {"content_type", entry.content_type},
      {"created_ms", entry.created_ms},
      {"attributes", entry.attributes},
  };
  if (entry.max_age_ms > 0) {
    // A mutable document (packument, Go list): how old the copy is decides
    // whether a node that recovers it may serve it as fresh.
    j["max_age_ms"] = entry.max_age_ms;
    j["fetched_ms"] = entry.fetched_at_ms;
  }
  // Keys and attributes come from clients: never let bad UTF-8 throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Entry> DecodeManifest(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  auto bad = [](std::string_view why) { return Status::Corruption("bad entry manifest: " + std::string(why)); };
  if (!j.is_object()) return bad("not a JSON object");
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() != kManifestVersion) return bad("unknown version");
  for (const char* field : {"ns", "key", "digest", "content_type", "attributes"}) {
    auto it = j.find(field);
    if (it == j.end() || !it->is_string()) return bad(std::string("missing ") + field);
  }
  for (const char* field : {"size", "created_ms"}) {
    auto it = j.find(field);
    if (it == j.end() || !it->is_number_integer()) return bad(std::string("missing ") + field);
  }
  auto digest = Digest::FromHex(j["digest"].get<std::string>());
  if (!digest.ok()) return bad("digest is not 64 hex characters");
  if (j["size"].get<int64_t>() < 0) return bad("negative size");
  Entry e;
  e.ns = j["ns"].get<std::string>();
  e.key = j["key"].get<std::string>();
  e.digest = *digest;
  e.size = j["size"].get<uint64_t>();
  e.content_type = j["content_type"].get<std::string>();
  e.created_ms = j["created_ms"].get<int64_t>();
  e.attributes = j["attributes"].get<std::string>();
  auto max_age = j.find("max_age_ms");
  auto fetched = j.find("fetched_ms");
  if (max_age != j.end() || fetched != j.end()) {
    if (max_age == j.end() || fetched == j.end() || !max_age->is_number_integer() || !fetched->is_number_integer() ||
        max_age->get<int64_t>() <= 0) {
      return bad("max_age_ms and fetched_ms must come together, as integers");
    }
    e.max_age_ms = max_age->get<int64_t>();
    e.fetched_at_ms = fetched->get<int64_t>();
  }
  return e;
}

}  // namespace cellar::index
