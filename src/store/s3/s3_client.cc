#include "store/s3/s3_client.h"

#include <algorithm>
#include <cstring>

namespace cellar::s3 {

Result<size_t> StringBody::Read(std::span<std::byte> out) {
  const size_t n = std::min(out.size(), data_.size() - pos_);
  if (n > 0) std::memcpy(out.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

Result<std::string> ReadAllObject(ObjectReader& reader, size_t max_bytes) {
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, reader.Read(std::as_writable_bytes(std::span(buf))));
    if (n == 0) return out;
    if (out.size() + n > max_bytes) {
      return Status::ResourceExhausted("object body exceeds " + std::to_string(max_bytes) +
                                       " bytes");
    }
    out.append(buf, n);
  }
}

}  // namespace cellar::s3
