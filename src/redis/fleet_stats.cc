#include "redis/fleet_stats.h"

#include <algorithm>
#include <cstdlib>

namespace cellar::redis {
namespace {

// KEYS[1] the node's hash, KEYS[2] the set of nodes; ARGV: node, at_ms,
// ttl_ms, then field/value pairs.
constexpr const char* kPublishScript = R"(
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
)";

// KEYS[1] the set of nodes; ARGV: oldest live at_ms, the hash key prefix.
// Returns node, fields, node, fields, ...
constexpr const char* kReadScript = R"(
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local out = {}
for _, node in ipairs(redis.call('ZRANGE', KEYS[1], 0, 999)) do
  local fields = redis.call('HGETALL', ARGV[2] .. node)
  if #fields > 0 then
    table.insert(out, node)
    table.insert(out, fields)
  end
end
return out
)";

uint64_t ToUint(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 10); }

}  // namespace

NodeTotals SumOf(const std::vector<NodeTotals>& nodes) {
  NodeTotals sum;
  sum.node = std::to_string(nodes.size()) + (nodes.size() == 1 ? " node" : " nodes");
  for (const NodeTotals& n : nodes) {
    sum.entries += n.entries;
    sum.blobs += n.blobs;
    sum.stored_bytes += n.stored_bytes;
    sum.max_bytes += n.max_bytes;
    sum.at_ms = std::max(sum.at_ms, n.at_ms);
  }
  return sum;
}

FleetStats::FleetStats(RedisClient& client, std::string prefix, std::chrono::milliseconds ttl,
                       const env::Clock& clock)
    : client_(client), prefix_(std::move(prefix)), ttl_(ttl), clock_(clock) {}

Status FleetStats::Publish(NodeTotals totals) {
  if (totals.node.empty()) return Status::InvalidArgument("fleet stats need a node id");
  totals.at_ms = clock_.NowUnixMs();
  std::vector<std::string> args = {"EVAL", kPublishScript, "2", prefix_ + "stats:node:" + totals.node,
                                   prefix_ + "stats:nodes", totals.node, std::to_string(totals.at_ms),
                                   std::to_string(ttl_.count())};
  for (const auto& [field, value] : {std::pair<const char*, uint64_t>{"entries", totals.entries},
                                     {"blobs", totals.blobs},
                                     {"stored_bytes", totals.stored_bytes},
                                     {"max_bytes", totals.max_bytes},
                                     {"at_ms", static_cast<uint64_t>(totals.at_ms)}}) {
    args.emplace_back(field);
    args.push_back(std::to_string(value));
  }
  CELLAR_ASSIGN_OR_RETURN(Reply reply, client_.Command(args));
  (void)reply;
  return Status::Ok();
}

Result<std::vector<NodeTotals>> FleetStats::Read() {
  const int64_t oldest = clock_.NowUnixMs() - ttl_.count();
  CELLAR_ASSIGN_OR_RETURN(Reply reply, client_.Command({"EVAL", kReadScript, "1", prefix_ + "stats:nodes",
                                                        std::to_string(oldest), prefix_ + "stats:node:"}));
  const Reply::Array* items = reply.AsArray();
  if (items == nullptr) return Status::Internal("fleet stats: Redis answered something other than a list");
  std::vector<NodeTotals> nodes;
  for (size_t i = 0; i + 1 < items->size(); i += 2) {
    const std::string* node = (*items)[i].AsString();
    const Reply::Array* fields = (*items)[i + 1].AsArray();
    if (node == nullptr || fields == nullptr) continue;
    NodeTotals t;
    t.node = *node;
    for (size_t f = 0; f + 1 < fields->size(); f += 2) {
      const std::string* name = (*fields)[f].AsString();
      const std::string* value = (*fields)[f + 1].AsString();
      if (name == nullptr || value == nullptr) continue;
      if (*name == "entries") t.entries = ToUint(*value);
      else if (*name == "blobs") t.blobs = ToUint(*value);
      else if (*name == "stored_bytes") t.stored_bytes = ToUint(*value);
      else if (*name == "max_bytes") t.max_bytes = ToUint(*value);
      else if (*name == "at_ms") t.at_ms = static_cast<int64_t>(ToUint(*value));
    }
    nodes.push_back(std::move(t));
  }
  std::sort(nodes.begin(), nodes.end(), [](const NodeTotals& a, const NodeTotals& b) { return a.node < b.node; });
  return nodes;
}

}  // namespace cellar::redis
