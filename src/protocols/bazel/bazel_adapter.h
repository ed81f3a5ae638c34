// Bazel HTTP remote cache: GET/HEAD/PUT of /bazel/[instance/]ac/<sha256> and
// /bazel/[instance/]cas/<sha256>; each instance (URL prefix) is a namespace. CAS bodies are verified against their
// SHA-256 while streaming (mismatch -> 400, nothing stored); duplicate CAS
// uploads are hashed and dropped without touching the disk. AC entries may
// be overwritten. Wire details: docs/protocols/bazel.md sections 3-5.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocols/common/protocol.h"

namespace cellar::bazel {

struct BazelKey {
  bool cas = false;     // false: action cache
  std::string hash;     // 64 lowercase hex
  std::string ns;       // "bazel/ac" or "bazel/cas"; "bazel/<instance>/ac|cas" with an instance
  std::string cas_ns;   // the CAS namespace of the same instance (AC validation looks there)
};

// Parses the part of the path after "/bazel/": "[<instance>/]{ac|cas}/<sha256>".
// The instance is the HTTP cache URL's path prefix (Bazel's HTTP protocol
// has no other instance name): up to 6 segments of [A-Za-z0-9._-], none
// named "ac" or "cas" (so no instance's namespace can sit inside another's
// or the default's). Each instance is a namespace of its own; without one
// the default namespaces bazel/ac and bazel/cas are used, as before.
// kInvalidArgument with the reason when malformed.
Result<BazelKey> ParseBazelPath(std::string_view rest);

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
  // Serves a validated AC hit, or a miss when a blob it refers to is gone
  // from `cas_ns` (the CAS of the AC entry's own instance).
  boost::asio::awaitable<void> ServeValidatedAc(http::Exchange& ex, core::Hit& hit, const std::string& cas_ns);

  protocols::ProtocolContext ctx_;
  BazelOptions options_;
};

}  // namespace cellar::bazel
