#include "redis/access_tally.h"

#include <algorithm>
#include <cstdlib>

namespace cellar::redis {
namespace {

// KEYS: last, hits; ARGV: the oldest last hit kept (ms), then member,
// last_ms, count, member, ... Keys not hit since the cutoff leave both sets
// (1000 per flush at most), so the tally stays bounded even when no node
// runs the evictor that prunes it.
constexpr const char* kFlushScript = R"(
for i = 2, #ARGV, 3 do
  redis.call('ZADD', KEYS[1], 'GT', ARGV[i + 1], ARGV[i])
  redis.call('ZINCRBY', KEYS[2], ARGV[i + 2], ARGV[i])
end
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, 1000)
if #old > 0 then
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[2], unpack(old))
end
return 1
)";

constexpr size_t kChunk = 1000;  // members per command

}  // namespace

RedisAccessTally::RedisAccessTally(RedisClient& client, std::string prefix, const env::Clock& clock,
                                   std::chrono::milliseconds horizon, size_t max_pending)
    : client_(client),
      clock_(clock),
      last_key_(prefix + "access:last"),
      hits_key_(prefix + "access:hits"),
      horizon_(horizon),
      max_pending_(max_pending) {}

void RedisAccessTally::Record(const std::string& object_key, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(object_key);
  if (it == pending_.end()) {
    if (pending_.size() >= max_pending_) {
      ++dropped_;
      return;
    }
    it = pending_.emplace(object_key, index::AccessCount{}).first;
  }
  it->second.last_ms = std::max(it->second.last_ms, now_ms);
  ++it->second.hits;
}

uint64_t RedisAccessTally::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

Status RedisAccessTally::Flush() {
  std::unordered_map<std::string, index::AccessCount> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
  }
  std::vector<std::string> args;
  constexpr size_t kHead = 6;  // EVAL, script, 2, the two keys, the cutoff
  // A flush with nothing noted still trims the tally.
  bool sent_once = false;
  auto send = [&]() -> Status {
    if (args.size() <= kHead && sent_once) return Status::Ok();
    sent_once = true;
    Result<Reply> r = client_.Command(args);
    args.resize(kHead);
    return r.ok() ? Status::Ok() : r.error();
  };
  args = {"EVAL", kFlushScript, "2", last_key_, hits_key_, std::to_string(clock_.NowUnixMs() - horizon_.count())};
  Status status;
  for (auto it = batch.begin(); it != batch.end() && status.ok();) {
    args.push_back(it->first);
    args.push_back(std::to_string(it->second.last_ms));
    args.push_back(std::to_string(it->second.hits));
    ++it;
    if (args.size() >= kHead + 3 * kChunk) {
      status = send();
      if (status.ok()) batch.erase(batch.begin(), it);
    }
  }
  if (status.ok()) {
    status = send();
    if (status.ok()) batch.clear();
  }
  if (!status.ok()) {
    // Kept for the next flush, merged with what arrived meanwhile.
    std::lock_guard lock(mu_);
    for (auto& [key, count] : batch) {
      auto [slot, added] = pending_.emplace(key, count);
      if (!added) {
        slot->second.last_ms = std::max(slot->second.last_ms, count.last_ms);
        slot->second.hits += count.hits;
      }
    }
  }
  return status;
}

Result<std::unordered_map<std::string, index::AccessCount>> RedisAccessTally::Read(
    const std::vector<std::string>& object_keys) {
  std::unordered_map<std::string, index::AccessCount> out;
  for (size_t from = 0; from < object_keys.size(); from += kChunk) {
    const size_t to = std::min(object_keys.size(), from + kChunk);
    std::vector<std::string> last = {"ZMSCORE", last_key_};
    std::vector<std::string> hits = {"ZMSCORE", hits_key_};
    for (size_t i = from; i < to; ++i) {
      last.push_back(object_keys[i]);
      hits.push_back(object_keys[i]);
    }
    CELLAR_ASSIGN_OR_RETURN(Reply last_reply, client_.Command(last));
    CELLAR_ASSIGN_OR_RETURN(Reply hits_reply, client_.Command(hits));
    const Reply::Array* l = last_reply.AsArray();
    const Reply::Array* h = hits_reply.AsArray();
    if (l == nullptr || h == nullptr || l->size() != to - from || h->size() != to - from) {
      return Status::Internal("access tally: Redis answered ZMSCORE with something other than one score per key");
    }
    for (size_t i = 0; i < to - from; ++i) {
      const std::string* ls = (*l)[i].AsString();
      if (ls == nullptr) continue;  // never hit
      index::AccessCount c;
      c.last_ms = static_cast<int64_t>(std::strtod(ls->c_str(), nullptr));
      if (const std::string* hs = (*h)[i].AsString()) c.hits = static_cast<uint64_t>(std::strtod(hs->c_str(), nullptr));
      out.emplace(object_keys[from + i], c);
    }
  }
  return out;
}

Status RedisAccessTally::Forget(const std::vector<std::string>& object_keys) {
  for (size_t from = 0; from < object_keys.size(); from += kChunk) {
    const size_t to = std::min(object_keys.size(), from + kChunk);
    for (const std::string& key : {last_key_, hits_key_}) {
      std::vector<std::string> args = {"ZREM", key};
      args.insert(args.end(), object_keys.begin() + static_cast<std::ptrdiff_t>(from),
                  object_keys.begin() + static_cast<std::ptrdiff_t>(to));
      CELLAR_ASSIGN_OR_RETURN(Reply r, client_.Command(args));
      (void)r;
    }
  }
  return Status::Ok();
}

Status RedisAccessTally::Prune(const std::function<bool(const std::string&)>& keep) {
  std::string cursor = "0";
  std::vector<std::string> drop;
  do {
    CELLAR_ASSIGN_OR_RETURN(Reply reply, client_.Command({"ZSCAN", last_key_, cursor, "COUNT", "1000"}));
    const Reply::Array* parts = reply.AsArray();
    const std::string* next = parts != nullptr && parts->size() == 2 ? (*parts)[0].AsString() : nullptr;
    const Reply::Array* items = parts != nullptr && parts->size() == 2 ? (*parts)[1].AsArray() : nullptr;
    if (next == nullptr || items == nullptr) return Status::Internal("access tally: unexpected ZSCAN answer");
    for (size_t i = 0; i + 1 < items->size(); i += 2) {  // member, score
      const std::string* member = (*items)[i].AsString();
      if (member != nullptr && !keep(*member)) drop.push_back(*member);
    }
    cursor = *next;
  } while (cursor != "0");
  return Forget(drop);
}

}  // namespace cellar::redis
