// S3Documents: store::Documents as objects `<prefix>documents/<name>` in
// the bucket. A PUT replaces an object atomically, which is all Documents
// promises.
#pragma once

#include "store/documents.h"
#include "store/s3/s3_client.h"

namespace cellar::s3 {

class S3Documents final : public store::Documents {
 public:
  // `prefix` is --s3-prefix (as KeyPrefix() reads it); `max_bytes` bounds
  // what a Get reads (a manifest is small; anything larger is damage).
  S3Documents(S3Client& client, std::string prefix, uint64_t max_bytes = 16 << 20);

  Result<std::optional<std::string>> Get(const std::string& name) override;
  Status Put(const std::string& name, const std::string& body) override;

 private:
  std::string Key(const std::string& name) const { return prefix_ + "documents/" + name; }

  S3Client& client_;
  const std::string prefix_;
  const uint64_t max_bytes_;
};

}  // namespace cellar::s3
