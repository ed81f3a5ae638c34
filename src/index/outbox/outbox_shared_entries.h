// OutboxSharedEntries: SharedEntries for `--s3-upload=async`. Publish()
// appends a durable "publish entry" record to the outbox instead of writing
// the manifest (the drainer writes it later, after the entry's blob is in
// the bucket); Find() answers from this node's pending publishes first, then
// from the bucket; Withdraw() deletes from the bucket and drops pending
// publishes of the key, with no publish of it in flight meanwhile.
//
// First write wins is decided at drain time, not when the client is
// answered: a create-only publish that finds the key published by another
// node completes, and when that node's entry names other bytes, the
// on_superseded callback lets this node drop its own entry so its next
// lookup recovers the winner (docs/tiered-storage.md, "Asynchronous
// uploads").
//
// Thread-safety: as SharedEntries. The wrapped entries and the outbox must
// outlive this object. Publish() blocks on fsync, Find() and Withdraw() on
// the network: call them on worker threads.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "index/shared_entries.h"
#include "store/outbox/outbox.h"
#include "store/outbox/outbox_drainer.h"

namespace cellar::index {

class OutboxSharedEntries final : public SharedEntries {
 public:
  // The outbox record kind of entry publishes.
  static constexpr std::string_view kPublishRecordKind = "publish";

  // `bucket`: where the manifests go (S3SharedEntries).
  OutboxSharedEntries(SharedEntries& bucket, outbox::Outbox& outbox);

  // Appends the record and returns: OK once it is durable; the outbox's
  // error otherwise (a full disk). With PutMode::kIfAbsent, kAlreadyExists
  // when this node has a publish of the key pending already. REQUIRES, as
  // for every SharedEntries: the entry's blob was committed before (its
  // upload record comes first, and the publish waits for it).
  Status Publish(const Entry& entry, PutMode mode) override;
  Result<std::optional<Entry>> Find(const std::string& ns, const std::string& key) override;
  // kUnavailable (pending publishes kept) when the bucket cannot be reached.
  Status Withdraw(const std::string& ns, const std::string& key) override;
  // False: a publish is queued, and another node's entry is found only when
  // the drainer publishes it, after the client was answered.
  bool PublishRefusesTakenKeys() const override { return false; }

  // Called on a drainer thread with this node's entry when its create-only
  // publish lost to another node's entry with a different digest. Set
  // before the drainer starts.
  void SetOnSuperseded(std::function<void(const Entry&)> fn) { on_superseded_ = std::move(fn); }

  // The OutboxDrainer handler of publish records: publishes the entry in the
  // bucket. Done when published, or when a create-only publish finds the key
  // taken (a note says by whom); retry when the bucket fails; lost only for
  // a record that cannot be decoded.
  outbox::Outcome DrainPublishRecord(const outbox::Record& record);

 private:
  SharedEntries& bucket_;
  outbox::Outbox& outbox_;
  std::function<void(const Entry&)> on_superseded_;
};

// The outbox subject of publishes of (ns, key).
std::string EntrySubject(const std::string& ns, const std::string& key);
// A publish record's payload: the shared fields of the entry and the mode.
std::string EncodePublishPayload(const Entry& entry, PutMode mode);
Result<std::pair<Entry, PutMode>> DecodePublishPayload(std::string_view payload);

}  // namespace cellar::index
