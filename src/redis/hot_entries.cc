#include "redis/hot_entries.h"

namespace cellar::redis {

RedisHotEntries::RedisHotEntries(RedisClient& client, std::string prefix, std::chrono::milliseconds ttl)
    : client_(client), prefix_(std::move(prefix)), ttl_(ttl) {}

Result<std::optional<std::string>> RedisHotEntries::Get(const std::string& object_key) {
  CELLAR_ASSIGN_OR_RETURN(Reply reply, client_.Command({"GET", Key(object_key)}));
  const std::string* value = reply.AsString();
  if (value == nullptr) return std::optional<std::string>();
  return std::optional<std::string>(*value);
}

Status RedisHotEntries::Put(const std::string& object_key, const std::string& manifest) {
  CELLAR_ASSIGN_OR_RETURN(Reply reply,
                          client_.Command({"SET", Key(object_key), manifest, "PX", std::to_string(ttl_.count())}));
  (void)reply;
  return Status::Ok();
}

Status RedisHotEntries::Drop(const std::string& object_key) {
  CELLAR_ASSIGN_OR_RETURN(Reply reply, client_.Command({"DEL", Key(object_key)}));
  (void)reply;
  return Status::Ok();
}

}  // namespace cellar::redis
