#include "store/outbox/record_file.h"

#include "base/strings.h"
#include "hash/blake3.h"

namespace cellar::outbox {

namespace {
constexpr std::string_view kFormat = "cellar-outbox-1";
// A record names a blob or an entry: far below this. A bigger length is a
// damaged file, not a reason to allocate gigabytes.
constexpr uint64_t kMaxFieldBytes = 16 << 20;

Status Bad(std::string_view why) { return Status::Corruption("bad outbox record: " + std::string(why)); }

std::string Checksum(std::string_view bytes) {
  hash::Blake3Hasher hasher;
  hasher.Update(bytes.data(), bytes.size());
  return ToHex(hasher.Finalize());
}
}  // namespace

std::string EncodeFields(const std::vector<Field>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    out += name;
    out += ' ';
    out += std::to_string(value.size());
    out += '\n';
    out += value;
    out += '\n';
  }
  return out;
}

Result<std::vector<Field>> DecodeFields(std::string_view text) {
  std::vector<Field> fields;
  while (!text.empty()) {
    const size_t space = text.find(' ');
    const size_t eol = text.find('\n');
    if (space == std::string_view::npos || eol == std::string_view::npos || space == 0 || space > eol) {
      return Bad("a field header is not '<name> <length>'");
    }
    auto length = ParseUint64(text.substr(space + 1, eol - space - 1));
    if (!length || *length > kMaxFieldBytes) return Bad("a field length is not a number or too large");
    const size_t start = eol + 1;
    if (text.size() - start < *length + 1 || text[start + *length] != '\n') return Bad("a field is cut short");
    fields.emplace_back(std::string(text.substr(0, space)), std::string(text.substr(start, *length)));
    text.remove_prefix(start + *length + 1);
  }
  return fields;
}

const std::string* FindField(const std::vector<Field>& fields, std::string_view name) {
  for (const auto& [n, v] : fields) {
    if (n == name) return &v;
  }
  return nullptr;
}

std::string EncodeRecordFile(const Record& record) {
  std::vector<Field> fields = {
      {"format", std::string(kFormat)},
      {"kind", record.kind},
      {"created_ms", std::to_string(record.created_ms)},
      {"subject", record.subject},
  };
  for (const std::string& a : record.after) fields.emplace_back("after", a);
  fields.emplace_back("payload", record.payload);
  std::string body = EncodeFields(fields);
  return body + EncodeFields({{"blake3", Checksum(body)}});
}

Status DecodeRecordFile(std::string_view bytes, Record& record) {
  CELLAR_ASSIGN_OR_RETURN(std::vector<Field> fields, DecodeFields(bytes));
  if (fields.empty() || fields.back().first != "blake3") return Bad("no checksum");
  const std::string checksum = fields.back().second;
  fields.pop_back();
  // The encoding is canonical, so re-encoding gives back the checked bytes.
  if (Checksum(EncodeFields(fields)) != checksum) return Bad("checksum mismatch");
  const std::string* format = FindField(fields, "format");
  if (format == nullptr || *format != kFormat) return Bad("unknown format");
  Record out;
  out.seq = record.seq;
  bool has_payload = false;
  for (auto& [name, value] : fields) {
    if (name == "kind") {
      out.kind = std::move(value);
    } else if (name == "created_ms") {
      auto ms = ParseUint64(value);
      if (!ms) return Bad("created_ms is not a number");
      out.created_ms = static_cast<int64_t>(*ms);
    } else if (name == "subject") {
      out.subject = std::move(value);
    } else if (name == "after") {
      out.after.push_back(std::move(value));
    } else if (name == "payload") {
      out.payload = std::move(value);
      has_payload = true;
    }
  }
  if (out.kind.empty() || out.subject.empty() || !has_payload) return Bad("kind, subject or payload missing");
  record = std::move(out);
  return Status();
}

}  // namespace cellar::outbox
