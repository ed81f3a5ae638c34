#include "redis/document_versions.h"

#include <cstdlib>

namespace cellar::redis {

RedisDocumentVersions::RedisDocumentVersions(RedisClient& client, std::string prefix, std::chrono::milliseconds ttl)
    : client_(client), prefix_(std::move(prefix)), ttl_(ttl) {}

std::string RedisDocumentVersions::Key(const std::string& ns, const std::string& key) const {
  return prefix_ + "doc:" + ns + "\n" + key;
}

Status RedisDocumentVersions::Announce(const std::string& ns, const std::string& key,
                                       const index::DocumentVersion& version) {
  CELLAR_ASSIGN_OR_RETURN(Reply reply,
                          client_.Command({"SET", Key(ns, key),
                                           version.digest.Hex() + " " + std::to_string(version.fetched_ms), "PX",
                                           std::to_string(ttl_.count())}));
  (void)reply;
  return Status::Ok();
}

Result<std::optional<index::DocumentVersion>> RedisDocumentVersions::Latest(const std::string& ns,
                                                                            const std::string& key) {
  using Out = std::optional<index::DocumentVersion>;
  CELLAR_ASSIGN_OR_RETURN(Reply reply, client_.Command({"GET", Key(ns, key)}));
  const std::string* value = reply.AsString();
  if (value == nullptr) return Out();
  const size_t space = value->find(' ');
  if (space == std::string::npos) return Status::Corruption("document version in Redis is malformed: " + *value);
  CELLAR_ASSIGN_OR_RETURN(Digest digest, Digest::FromHex(std::string_view(*value).substr(0, space)));
  return Out(index::DocumentVersion{digest, std::strtoll(value->c_str() + space + 1, nullptr, 10)});
}

}  // namespace cellar::redis
