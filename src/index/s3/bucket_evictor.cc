#include "index/s3/bucket_evictor.h"

#include <algorithm>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/log.h"
#include "index/s3/s3_shared_entries.h"
#include "store/s3/s3_config.h"

namespace cellar::index {
namespace {

constexpr size_t kMaxManifestBytes = 64 * 1024;
constexpr size_t kMaxDocumentBytes = 16 << 20;

// Every object under `prefix`, page by page.
Result<std::vector<s3::ObjectInfo>> ListAll(s3::S3Client& client, const std::string& prefix) {
  std::vector<s3::ObjectInfo> out;
  std::optional<std::string> token;
  do {
    CELLAR_ASSIGN_OR_RETURN(s3::ListPage page, client.ListObjectsV2(prefix, token, 1000));
    for (s3::ObjectInfo& o : page.objects) out.push_back(std::move(o));
    token = std::move(page.next_token);
  } while (token.has_value());
  return out;
}

bool IsHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Every run of exactly 64 lowercase hex digits in `text`: the blob digests a
// document may name (the git tier's bundle lists), and some that are not
// digests at all, which only keeps nothing from being collected.
void AddDigestsNamedIn(std::string_view text, std::unordered_set<std::string>& out) {
  size_t i = 0;
  while (i < text.size()) {
    if (!IsHexDigit(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && IsHexDigit(text[j])) ++j;
    if (j - i == 64) out.emplace(text.substr(i, 64));
    i = j;
  }
}

// An entry manifest, or a git mirror's manifest document: what eviction
// removes, with the blobs it names.
struct Candidate {
  std::string object_key;
  std::vector<std::string> digests;
  uint64_t size = 0;
  int64_t last_ms = 0;
  uint64_t hits = 0;
  bool mirror = false;
};

// A git mirror's manifest in the shared tier: documents/git/<repo>/manifest.json.
bool IsMirrorManifest(std::string_view key, std::string_view documents_prefix) {
  return key.starts_with(documents_prefix) && key.substr(documents_prefix.size()).starts_with("git/") &&
         key.ends_with("/manifest.json");
}

}  // namespace

BucketEvictor::BucketEvictor(s3::S3Client& client, AccessTally* tally, const env::Clock& clock,
                             BucketEvictionOptions options, HotEntries* hot)
    : client_(client),
      tally_(tally),
      hot_(hot),
      clock_(clock),
      options_(std::move(options)),
      entries_prefix_(s3::KeyPrefix(options_.prefix) + "entries/"),
      documents_prefix_(s3::KeyPrefix(options_.prefix) + "documents/"),
      blobs_prefix_(s3::KeyPrefix(options_.prefix) + "blobs/") {}

Result<BucketEvictionReport> BucketEvictor::RunOnce() {
  BucketEvictionReport report;
  const int64_t now = clock_.NowUnixMs();

  // 1. Manifests (new ones read once) and blobs.
  CELLAR_ASSIGN_OR_RETURN(std::vector<s3::ObjectInfo> listed, ListAll(client_, entries_prefix_));
  std::unordered_map<std::string, Manifest> live;
  for (const s3::ObjectInfo& object : listed) {
    auto it = known_.find(object.key);
    if (it != known_.end() && it->second.last_modified_ms == object.last_modified_unix_ms) {
      live.emplace(object.key, it->second);
      continue;
    }
    CELLAR_ASSIGN_OR_RETURN(auto reader, client_.GetObject(object.key));
    if (!reader) continue;  // withdrawn meanwhile
    CELLAR_ASSIGN_OR_RETURN(std::string body, s3::ReadAllObject(**reader, kMaxManifestBytes));
    Result<Entry> entry = DecodeManifest(body);
    if (!entry.ok()) {
      // Not ours to judge (another version, damage): left alone. Its blob
      // is unknown, so not protected: a reader of it fails the same way.
      Log(LogLevel::kWarn, "bucket eviction: unreadable manifest " + object.key + ": " + entry.error().message());
      live.emplace(object.key, Manifest{"", 0, now, object.last_modified_unix_ms});
      continue;
    }
    live.emplace(object.key, Manifest{entry->digest.Hex(), entry->size, entry->created_ms, object.last_modified_unix_ms});
  }
  known_ = live;
  report.entries = live.size();
  CELLAR_ASSIGN_OR_RETURN(std::vector<s3::ObjectInfo> blobs, ListAll(client_, blobs_prefix_));
  std::unordered_map<std::string, const s3::ObjectInfo*> blob_by_digest;
  for (const s3::ObjectInfo& b : blobs) {
    blob_by_digest.emplace(b.key.substr(blobs_prefix_.size()), &b);
    report.blob_bytes_before += b.size;
  }

  std::vector<Candidate> candidates;
  for (const auto& [key, m] : live) {
    if (!m.digest_hex.empty()) candidates.push_back(Candidate{key, {m.digest_hex}, m.size, m.created_ms, 0, false});
  }
  // Documents are few (one per mirror) and read on every pass, since they
  // change. A git mirror's manifest is a candidate like an entry: its size
  // is its bundles', and evicting it leaves them to be collected. Blobs any
  // other document names are never collected.
  std::unordered_set<std::string> named_by_documents;
  CELLAR_ASSIGN_OR_RETURN(std::vector<s3::ObjectInfo> documents, ListAll(client_, documents_prefix_));
  mirror_manifests_.clear();
  for (const s3::ObjectInfo& object : documents) {
    CELLAR_ASSIGN_OR_RETURN(auto reader, client_.GetObject(object.key));
    if (!reader) continue;
    CELLAR_ASSIGN_OR_RETURN(std::string body, s3::ReadAllObject(**reader, kMaxDocumentBytes));
    if (!IsMirrorManifest(object.key, documents_prefix_)) {
      AddDigestsNamedIn(body, named_by_documents);
      continue;
    }
    std::unordered_set<std::string> bundles;
    AddDigestsNamedIn(body, bundles);
    Candidate c{object.key, {bundles.begin(), bundles.end()}, 0, object.last_modified_unix_ms, 0, true};
    for (const std::string& d : c.digests) {
      if (auto b = blob_by_digest.find(d); b != blob_by_digest.end()) c.size += b->second->size;
    }
    mirror_manifests_.insert(object.key);
    ++report.mirrors;
    candidates.push_back(std::move(c));
  }

  // 2. Rank the candidates by the fleet's hits.
  std::vector<std::string> keys;
  keys.reserve(candidates.size());
  for (const Candidate& c : candidates) keys.push_back(c.object_key);
  std::unordered_map<std::string, AccessCount> counts;
  if (tally_ != nullptr) {
    auto read = tally_->Read(keys);
    if (read.ok()) {
      counts = std::move(*read);
    } else {
      Log(LogLevel::kWarn, "bucket eviction: no fleet access times (ranking by creation): " + read.error().message());
    }
  }
  std::unordered_map<std::string, int> refs;  // digest -> candidates naming it
  for (Candidate& c : candidates) {
    if (auto it = counts.find(c.object_key); it != counts.end()) {
      c.last_ms = std::max(c.last_ms, it->second.last_ms);
      c.hits = it->second.hits;
    }
    for (const std::string& d : c.digests) ++refs[d];
  }
  if (options_.policy == BucketEvictionPolicy::kLeastRecentlyUsed) {
    std::sort(candidates.begin(), candidates.end(),
              [](const Candidate& a, const Candidate& b) { return a.last_ms < b.last_ms; });
  } else {
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      // Most bytes per hit first; hits+1 so that unread entries rank by size.
      return static_cast<double>(a.size) / static_cast<double>(a.hits + 1) >
             static_cast<double>(b.size) / static_cast<double>(b.hits + 1);
    });
  }

  // Bytes the bucket would hold once the blobs of evicted entries go.
  uint64_t bytes = report.blob_bytes_before;
  auto evict = [&](const Candidate& c) -> Status {
    CELLAR_RETURN_IF_ERROR(client_.DeleteObject(c.object_key));
    // A copy left behind would only name bytes that may be collected next;
    // readers treat that as a miss, but there is no need to wait for it.
    if (hot_ != nullptr && !c.mirror) (void)hot_->Drop(c.object_key);
    known_.erase(c.object_key);
    mirror_manifests_.erase(c.object_key);
    if (c.mirror) ++report.mirrors_evicted;
    for (const std::string& d : c.digests) {
      if (--refs[d] != 0 || named_by_documents.count(d) != 0) continue;
      if (auto b = blob_by_digest.find(d); b != blob_by_digest.end()) bytes -= b->second->size;
    }
    return Status::Ok();
  };
  std::vector<bool> gone(candidates.size(), false);
  if (options_.ttl_ms > 0) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (now - candidates[i].last_ms <= options_.ttl_ms) continue;
      CELLAR_RETURN_IF_ERROR(evict(candidates[i]));
      gone[i] = true;
      ++report.entries_expired;
    }
  }
  if (options_.max_bytes > 0 &&
      static_cast<double>(bytes) > static_cast<double>(options_.max_bytes) * options_.high_watermark) {
    const double target = static_cast<double>(options_.max_bytes) * options_.low_watermark;
    for (size_t i = 0; i < candidates.size() && static_cast<double>(bytes) > target; ++i) {
      if (gone[i]) continue;
      CELLAR_RETURN_IF_ERROR(evict(candidates[i]));
      gone[i] = true;
      ++report.entries_evicted;
    }
  }
  if (tally_ != nullptr) {
    // Evicted entries, and hits of keys the bucket never held (entries a
    // node keeps to itself), leave the tally.
    Status pruned = tally_->Prune(
        [this](const std::string& key) { return known_.count(key) != 0 || mirror_manifests_.count(key) != 0; });
    if (!pruned.ok()) Log(LogLevel::kWarn, "bucket eviction: access tally not pruned: " + pruned.message());
  }

  // 3. Blobs no manifest names, past the grace period.
  for (const s3::ObjectInfo& b : blobs) {
    const std::string digest = b.key.substr(blobs_prefix_.size());
    if (auto r = refs.find(digest); r != refs.end() && r->second > 0) continue;
    if (named_by_documents.count(digest) != 0) continue;
    if (now - b.last_modified_unix_ms < options_.gc_grace_ms) continue;
    CELLAR_RETURN_IF_ERROR(client_.DeleteObject(b.key));
    ++report.blobs_removed;
    report.bytes_removed += b.size;
  }
  report.blob_bytes_after = report.blob_bytes_before - report.bytes_removed;
  return report;
}

}  // namespace cellar::index
