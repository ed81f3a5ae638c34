// Bazel HTTP remote cache: GET/HEAD/PUT of /bazel/[instance/]ac/<sha256> and
// /bazel/[instance/]cas/<sha256>. CAS bodies are verified against their
// SHA-256 while streaming (mismatch -> 400, nothing stored); duplicate CAS
// uploads are hashed and dropped without touching the disk. AC entries may
// be overwritten. Wire details: shared docs, protocols-build-cache.md sec. 3.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocols/common/protocol.h"

namespace cellar::bazel {

struct BazelKey {
  bool cas = false;     // false: action cache
  std::string hash;     // 64 lowercase hex
  std::string ns;       // "bazel/ac" or "bazel/cas"
};

// Parses the part of the path after "/bazel/". nullopt when malformed.
std::optional<BazelKey> ParseBazelPath(std::string_view rest);

class BazelAdapter : public protocols::ProtocolAdapter {
 public:
  explicit BazelAdapter(protocols::ProtocolContext ctx) : ctx_(ctx) {}
  std::string_view Name() const override { return "bazel"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> Get(http::Exchange& ex, const BazelKey& key);
  boost::asio::awaitable<void> Put(http::Exchange& ex, const BazelKey& key);

  protocols::ProtocolContext ctx_;
};

}  // namespace cellar::bazel
