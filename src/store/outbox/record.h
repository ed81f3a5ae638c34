// Record: one unit of deferred work in the outbox (outbox.h), such as "upload
// blob <digest>" or "publish entry <ns>/<key>". The outbox knows nothing of
// what a kind means; the component that appends a kind also drains it
// (store::TieredBlobStore: blobs; index::OutboxSharedEntries: entries).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/digest.h"

namespace cellar::outbox {

struct Record {
  uint64_t seq = 0;      // order of appending; assigned by the outbox
  std::string kind;      // selects the handler that drains it ("blob", "publish")
  // What the record is about. Records whose `after` lists this subject wait
  // for it (see below); a pending record's subject can be asked about
  // (Outbox::HasPending) and held (Outbox::WithSubjectHeld).
  std::string subject;
  // Ordering: the record may start only once every earlier record whose
  // subject is one of these has completed. A publish lists its blob (its
  // manifest must never name a blob the bucket lacks) and its own entry (two
  // publishes of one key land in the order they were made).
  std::vector<std::string> after;
  std::string payload;     // opaque to the outbox
  int64_t created_ms = 0;  // unix epoch ms when appended; assigned by the outbox
};

// The subject of the record that uploads blob `digest`. Shared by the kinds
// that must wait for that upload.
inline std::string BlobSubject(const Digest& digest) { return "blob:" + digest.Hex(); }

}  // namespace cellar::outbox
