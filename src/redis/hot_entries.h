// RedisHotEntries: index::HotEntries as one Redis string per manifest,
// `<prefix>entry:<object key>` = the manifest's bytes (a few hundred), each
// expiring `ttl` after it was last written, so Redis holds the entries the
// fleet wrote or first read lately and no more. Calls block on Redis: worker
// or background threads only.
#pragma once

#include <chrono>
#include <string>

#include "index/hot_entries.h"
#include "redis/redis_client.h"

namespace cellar::redis {

class RedisHotEntries final : public index::HotEntries {
 public:
  RedisHotEntries(RedisClient& client, std::string prefix, std::chrono::milliseconds ttl);

  Result<std::optional<std::string>> Get(const std::string& object_key) override;
  Status Put(const std::string& object_key, const std::string& manifest) override;
  Status Drop(const std::string& object_key) override;

 private:
  std::string Key(const std::string& object_key) const { return prefix_ + "entry:" + object_key; }

  RedisClient& client_;
  const std::string prefix_;
  const std::chrono::milliseconds ttl_;
};

}  // namespace cellar::redis
