#include "index/outbox/outbox_shared_entries.h"

#include "base/strings.h"
#include "store/outbox/record_file.h"

namespace cellar::index {

namespace {
using outbox::Outcome;

std::string Describe(const Entry& e) { return "shared entry " + e.ns + "/" + e.key; }
}  // namespace

std::string EntrySubject(const std::string& ns, const std::string& key) {
  // The namespace's length keeps ("a/b", "c") and ("a", "b/c") apart.
  return "entry:" + std::to_string(ns.size()) + ":" + ns + "/" + key;
}

std::string EncodePublishPayload(const Entry& entry, PutMode mode) {
  return outbox::EncodeFields({
      {"v", "1"},
      {"mode", mode == PutMode::kIfAbsent ? "if_absent" : "overwrite"},
      {"ns", entry.ns},
      {"key", entry.key},
      {"digest", entry.digest.Hex()},
      {"size", std::to_string(entry.size)},
      {"content_type", entry.content_type},
      {"created_ms", std::to_string(entry.created_ms)},
      {"attributes", entry.attributes},
  });
}

Result<std::pair<Entry, PutMode>> DecodePublishPayload(std::string_view payload) {
  CELLAR_ASSIGN_OR_RETURN(std::vector<outbox::Field> fields, outbox::DecodeFields(payload));
  auto field = [&](std::string_view name) -> Result<std::string> {
    const std::string* v = outbox::FindField(fields, name);
    if (v == nullptr) return Status::Corruption("publish record: no " + std::string(name));
    return *v;
  };
  CELLAR_ASSIGN_OR_RETURN(std::string version, field("v"));
  if (version != "1") return Status::Corruption("publish record: unknown version " + version);
  CELLAR_ASSIGN_OR_RETURN(std::string mode, field("mode"));
  if (mode != "if_absent" && mode != "overwrite") return Status::Corruption("publish record: bad mode " + mode);
  Entry e;
  CELLAR_ASSIGN_OR_RETURN(e.ns, field("ns"));
  CELLAR_ASSIGN_OR_RETURN(e.key, field("key"));
  CELLAR_ASSIGN_OR_RETURN(std::string digest, field("digest"));
  CELLAR_ASSIGN_OR_RETURN(e.digest, Digest::FromHex(digest));
  CELLAR_ASSIGN_OR_RETURN(std::string size, field("size"));
  CELLAR_ASSIGN_OR_RETURN(std::string created, field("created_ms"));
  auto size_n = ParseUint64(size);
  auto created_n = ParseUint64(created);
  if (!size_n || !created_n) return Status::Corruption("publish record: size or created_ms is not a number");
  e.size = *size_n;
  e.created_ms = static_cast<int64_t>(*created_n);
  CELLAR_ASSIGN_OR_RETURN(e.content_type, field("content_type"));
  CELLAR_ASSIGN_OR_RETURN(e.attributes, field("attributes"));
  return std::make_pair(std::move(e), mode == "if_absent" ? PutMode::kIfAbsent : PutMode::kOverwrite);
}

OutboxSharedEntries::OutboxSharedEntries(SharedEntries& bucket, outbox::Outbox& outbox)
    : bucket_(bucket), outbox_(outbox) {}

Status OutboxSharedEntries::Publish(const Entry& entry, PutMode mode) {
  const std::string subject = EntrySubject(entry.ns, entry.key);
  // This node's first write of the key is still on its way: a second
  // create-only write loses here, as it would to the published one.
  if (mode == PutMode::kIfAbsent && outbox_.HasPending(subject)) {
    return Status::AlreadyExists(entry.key + " is being published");
  }
  outbox::Record record;
  record.kind = std::string(kPublishRecordKind);
  record.subject = subject;
  // The manifest must not reach the bucket before its blob, nor before an
  // earlier publish of the same key.
  record.after = {outbox::BlobSubject(entry.digest), subject};
  record.payload = EncodePublishPayload(entry, mode);
  Status s = outbox_.Append(std::move(record));
  return s.ok() ? s : s.WithContext("recording the publish of " + Describe(entry));
}

Result<std::optional<Entry>> OutboxSharedEntries::Find(const std::string& ns, const std::string& key) {
  // An entry this node acknowledged but has not published yet (its local
  // index entry was evicted meanwhile): its blob is pinned on this disk.
  if (std::optional<outbox::Record> pending = outbox_.LatestPending(EntrySubject(ns, key))) {
    auto decoded = DecodePublishPayload(pending->payload);
    if (decoded.ok()) return std::optional<Entry>(std::move(decoded->first));
  }
  return bucket_.Find(ns, key);
}

Status OutboxSharedEntries::Withdraw(const std::string& ns, const std::string& key) {
  const std::string subject = EntrySubject(ns, key);
  return outbox_.WithSubjectHeld(subject, [&]() -> Status {
    CELLAR_RETURN_IF_ERROR(bucket_.Withdraw(ns, key));
    // After the bucket's delete, so a failed withdraw leaves the pending
    // publishes (and the local entry, which CacheService keeps) as they were.
    return outbox_.DropPending(subject);
  });
}

Outcome OutboxSharedEntries::DrainPublishRecord(const outbox::Record& record) {
  auto decoded = DecodePublishPayload(record.payload);
  if (!decoded.ok()) return Outcome::Lost(decoded.error());
  const auto& [entry, mode] = *decoded;
  Status published = bucket_.Publish(entry, mode);
  if (published.ok()) return Outcome::Done();
  if (published.code() != Code::kAlreadyExists) return Outcome::Retry(published);
  // Another node published the key first (create-only publishes only).
  auto winner = bucket_.Find(entry.ns, entry.key);
  if (!winner.ok()) return Outcome::Retry(winner.error().WithContext("reading the entry that won"));
  // Withdrawn in between: publish ours after all, on the next attempt.
  if (!*winner) return Outcome::Retry(Status::Unavailable(Describe(entry) + " vanished after a create-only publish lost"));
  if ((*winner)->digest == entry.digest) return Outcome::Done();  // the same bytes: nothing to reconcile
  if (on_superseded_) on_superseded_(entry);
  return Outcome::Done(Status::AlreadyExists(
      Describe(entry) + ": published first with other bytes (" + (*winner)->digest.Hex() +
      "), by another node or an earlier write; this node drops its entry if it names " + entry.digest.Hex() +
      ", so the next lookup recovers the published one"));
}

}  // namespace cellar::index
