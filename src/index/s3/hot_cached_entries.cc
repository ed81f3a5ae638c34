#include "index/s3/hot_cached_entries.h"

namespace cellar::index {

HotCachedEntries::HotCachedEntries(S3SharedEntries& bucket, HotEntries& hot, std::function<void(Lookup)> on_lookup)
    : bucket_(bucket), hot_(hot), on_lookup_(std::move(on_lookup)) {}

Status HotCachedEntries::Publish(const Entry& entry, PutMode mode) {
  CELLAR_RETURN_IF_ERROR(bucket_.Publish(entry, mode));
  // A copy that cannot be written only costs the next reader an S3 GET.
  (void)hot_.Put(bucket_.ObjectKey(entry.ns, entry.key), EncodeManifest(entry));
  return Status::Ok();
}

Result<std::optional<Entry>> HotCachedEntries::Find(const std::string& ns, const std::string& key) {
  const std::string object_key = bucket_.ObjectKey(ns, key);
  Result<std::optional<std::string>> copy = hot_.Get(object_key);
  if (copy.ok() && copy->has_value()) {
    Result<Entry> entry = DecodeManifest(**copy);
    if (entry.ok() && entry->ns == ns && entry->key == key) {
      if (on_lookup_) on_lookup_(Lookup::kHot);
      return std::optional<Entry>(std::move(*entry));
    }
    (void)hot_.Drop(object_key);  // damaged, or another key's: the bucket decides
  }
  if (on_lookup_) on_lookup_(copy.ok() ? Lookup::kCold : Lookup::kHotUnavailable);
  CELLAR_ASSIGN_OR_RETURN(std::optional<Entry> found, bucket_.Find(ns, key));
  if (found.has_value() && copy.ok()) (void)hot_.Put(object_key, EncodeManifest(*found));
  return found;
}

Status HotCachedEntries::Withdraw(const std::string& ns, const std::string& key) {
  const std::string object_key = bucket_.ObjectKey(ns, key);
  (void)hot_.Drop(object_key);
  CELLAR_RETURN_IF_ERROR(bucket_.Withdraw(ns, key));
  (void)hot_.Drop(object_key);
  return Status::Ok();
}

}  // namespace cellar::index
