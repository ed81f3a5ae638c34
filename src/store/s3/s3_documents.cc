#include "store/s3/s3_documents.h"

#include <vector>

#include "store/s3/s3_config.h"

namespace cellar::s3 {

S3Documents::S3Documents(S3Client& client, std::string prefix, uint64_t max_bytes)
    : client_(client), prefix_(KeyPrefix(std::move(prefix))), max_bytes_(max_bytes) {}

Result<std::optional<std::string>> S3Documents::Get(const std::string& name) {
  CELLAR_ASSIGN_OR_RETURN(auto found, client_.GetObject(Key(name)));
  if (!found) return std::optional<std::string>();
  ObjectReader& reader = **found;
  if (reader.size() > max_bytes_) {
    return Status::Corruption("document " + name + " is " + std::to_string(reader.size()) + " bytes, more than " +
                              std::to_string(max_bytes_));
  }
  std::string body;
  body.reserve(reader.size());
  std::vector<std::byte> buf(64 << 10);
  for (;;) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, reader.Read(buf));
    if (n == 0) break;
    body.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  return std::optional<std::string>(std::move(body));
}

Status S3Documents::Put(const std::string& name, const std::string& body) {
  StringBody source(body);
  return client_.PutObject(Key(name), source);
}

}  // namespace cellar::s3
