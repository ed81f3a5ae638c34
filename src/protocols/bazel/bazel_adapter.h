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

struct BazelOptions {
  // Accept only well-formed ActionResults on AC PUT, and answer AC GET only
  // when every CAS blob the result refers to is present.
  bool validate_ac = true;
};

class BazelAdapter : public protocols::ProtocolAdapter {
 public:
  BazelAdapter(protocols::ProtocolContext ctx, BazelOptions options = {})
      : ctx_(ctx), options_(options) {}
  std::string_view Name() const override { return "bazel"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> Get(http::Exchange& ex, const BazelKey& key);
  boost::asio::awaitable<void> Put(http::Exchange& ex, const BazelKey& key);
  // Serves a validated AC hit, or a miss when a referenced blob is gone.
  boost::asio::awaitable<void> ServeValidatedAc(http::Exchange& ex, core::Hit& hit);

  protocols::ProtocolContext ctx_;
  BazelOptions options_;
};

}  // namespace cellar::bazel
