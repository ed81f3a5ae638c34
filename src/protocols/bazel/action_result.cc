#include "protocols/bazel/action_result.h"

#include "base/digest.h"

namespace cellar::bazel {

namespace {

enum WireType { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// One decoded protobuf field: `varint` holds varint values, `bytes` holds
// length-delimited ones (fixed-width values are skipped).
struct Field {
  uint32_t number = 0;
  int type = 0;
  uint64_t varint = 0;
  std::string_view bytes;
};

// Reads protobuf fields one at a time from a byte range.
class FieldReader {
 public:
  explicit FieldReader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }

  // Reads the next field.
  Status Next(Field* f) {
    uint64_t key;
    CELLAR_RETURN_IF_ERROR(ReadVarint(&key));
    f->number = static_cast<uint32_t>(key >> 3);
    f->type = static_cast<int>(key & 7);
    if (f->number == 0) return Status::InvalidArgument("field number 0");
    switch (f->type) {
      case kVarint: return ReadVarint(&f->varint);
      case kFixed64: return Skip(8);
      case kFixed32: return Skip(4);
      case kLengthDelimited: {
        uint64_t len;
        CELLAR_RETURN_IF_ERROR(ReadVarint(&len));
        if (len > data_.size() - pos_) return Status::InvalidArgument("truncated field");
        f->bytes = data_.substr(pos_, len);
        pos_ += len;
        return Status();
      }
      default: return Status::InvalidArgument("unsupported wire type " + std::to_string(f->type));
    }
  }

 private:
  Status ReadVarint(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return Status::InvalidArgument("truncated varint");
      uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *out = v;
        return Status();
      }
    }
    return Status::InvalidArgument("varint too long");
  }
  Status Skip(size_t n) {
    if (n > data_.size() - pos_) return Status::InvalidArgument("truncated field");
    pos_ += n;
    return Status();
  }

  std::string_view data_;
  size_t pos_ = 0;
};

// Digest { string hash = 1; int64 size_bytes = 2; }
Status ParseDigest(std::string_view bytes, std::vector<CasRef>* refs) {
  FieldReader r(bytes);
  CasRef ref;
  while (!r.done()) {
    Field f;
    CELLAR_RETURN_IF_ERROR(r.Next(&f));
    if (f.number == 1) {
      if (f.type != kLengthDelimited) return Status::InvalidArgument("Digest.hash has the wrong type");
      ref.hash = std::string(f.bytes);
    } else if (f.number == 2) {
      if (f.type != kVarint) return Status::InvalidArgument("Digest.size_bytes has the wrong type");
      ref.size_bytes = static_cast<int64_t>(f.varint);
    }
  }
  if (ref.hash.size() != 64 || !IsLowerHex(ref.hash)) {
    return Status::InvalidArgument("digest hash is not 64 lowercase hex characters");
  }
  if (ref.size_bytes < 0) return Status::InvalidArgument("negative digest size");
  refs->push_back(std::move(ref));
  return Status();
}

// A message whose field `digest_field` is a Digest (OutputFile: 2,
// OutputDirectory: 3); other fields are checked for well-formedness only.
Status ParseWithDigest(std::string_view bytes, uint32_t digest_field, std::vector<CasRef>* refs) {
  FieldReader r(bytes);
  while (!r.done()) {
    Field f;
    CELLAR_RETURN_IF_ERROR(r.Next(&f));
    if (f.number == digest_field) {
      if (f.type != kLengthDelimited) return Status::InvalidArgument("digest field has the wrong type");
      CELLAR_RETURN_IF_ERROR(ParseDigest(f.bytes, refs));
    }
  }
  return Status();
}

}  // namespace

Status ParseActionResult(std::string_view bytes, std::vector<CasRef>* refs) {
  FieldReader r(bytes);
  while (!r.done()) {
    Field f;
    CELLAR_RETURN_IF_ERROR(r.Next(&f).WithContext("ActionResult"));
    const uint32_t field = f.number;
    const bool message_field = field == 2 || field == 3 || field == 6 || field == 8 ||
                               field == 9 || field == 10 || field == 11 || field == 12;
    if (message_field && f.type != kLengthDelimited) {
      return Status::InvalidArgument("ActionResult field " + std::to_string(field) + " has the wrong type");
    }
    if (field == 4 && f.type != kVarint) return Status::InvalidArgument("ActionResult.exit_code has the wrong type");
    switch (field) {
      case 2: CELLAR_RETURN_IF_ERROR(ParseWithDigest(f.bytes, 2, refs)); break;  // OutputFile.digest
      case 3: CELLAR_RETURN_IF_ERROR(ParseWithDigest(f.bytes, 3, refs)); break;  // OutputDirectory.tree_digest
      case 6:
      case 8: CELLAR_RETURN_IF_ERROR(ParseDigest(f.bytes, refs)); break;         // stdout/stderr digests
      default: break;
    }
  }
  return Status();
}

}  // namespace cellar::bazel
