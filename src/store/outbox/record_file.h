// The on-disk form of one outbox record (see outbox.h): a short list of
// named, length-prefixed fields, binary-safe (keys of index entries may hold
// any byte), closed by a BLAKE3 checksum of everything before it, so a
// damaged file is recognised and never half-read. Format, in prose:
// docs/tiered-storage.md, "Asynchronous uploads".
//
//   <name> <decimal length>\n<value bytes>\n      (repeated)
//
// Also used for record payloads that need several fields (the publish
// records of index/outbox). Thread-safety: free functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "store/outbox/record.h"

namespace cellar::outbox {

using Field = std::pair<std::string, std::string>;  // name, value

// REQUIRES: names are non-empty and hold no space or newline.
std::string EncodeFields(const std::vector<Field>& fields);
// kCorruption on anything but a well-formed list.
Result<std::vector<Field>> DecodeFields(std::string_view text);

// The value of the first field named `name` in `fields`, or nullptr.
const std::string* FindField(const std::vector<Field>& fields, std::string_view name);

// A record file's bytes: its fields and a checksum. The sequence number is
// not part of the file (it is the file's name).
std::string EncodeRecordFile(const Record& record);
// kCorruption when the checksum, format tag or a field is wrong. Leaves
// record.seq alone.
Status DecodeRecordFile(std::string_view bytes, Record& record);

}  // namespace cellar::outbox
