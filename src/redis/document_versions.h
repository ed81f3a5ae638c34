// RedisDocumentVersions: index::DocumentVersions as one small Redis string
// per document, `<prefix>doc:<ns>\n<key>` = "<digest hex> <fetched ms>",
// expiring after `ttl` (longer than any document's max age: a version older
// than that tells nobody anything). Calls block on Redis: worker or upstream
// threads only.
#pragma once

#include <chrono>
#include <string>

#include "index/document_versions.h"
#include "redis/redis_client.h"

namespace cellar::redis {

class RedisDocumentVersions final : public index::DocumentVersions {
 public:
  RedisDocumentVersions(RedisClient& client, std::string prefix,
                        std::chrono::milliseconds ttl = std::chrono::hours(24 * 7));

  Status Announce(const std::string& ns, const std::string& key, const index::DocumentVersion& version) override;
  Result<std::optional<index::DocumentVersion>> Latest(const std::string& ns, const std::string& key) override;

 private:
  std::string Key(const std::string& ns, const std::string& key) const;

  RedisClient& client_;
  const std::string prefix_;
  const std::chrono::milliseconds ttl_;
};

}  // namespace cellar::redis
