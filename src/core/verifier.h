// Verifier: checks streamed bytes against what a protocol promises (Bazel
// CAS SHA-256, npm integrity, Go h1: hashes) before CacheService commits.
// One verifier per upload or fill; single-threaded.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "base/status.h"
#include "hash/sha256.h"

namespace cellar::core {

class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual void Update(std::span<const std::byte> data) = 0;
  // OK when the bytes are acceptable; kInvalidArgument (client upload) or
  // kCorruption (upstream) with a readable reason otherwise.
  virtual Status Finish(uint64_t total_bytes) = 0;
};

// Accepts bytes whose SHA-256 equals `expected`.
class Sha256Verifier : public Verifier {
 public:
  explicit Sha256Verifier(std::array<uint8_t, 32> expected) : expected_(expected) {}
  void Update(std::span<const std::byte> data) override { hasher_.Update(data); }
  Status Finish(uint64_t total_bytes) override;

 private:
  std::array<uint8_t, 32> expected_;
  hash::Sha256Hasher hasher_;
};

// Accepts exactly `expected_bytes` bytes (catches truncated transfers).
class SizeVerifier : public Verifier {
 public:
  explicit SizeVerifier(uint64_t expected_bytes) : expected_(expected_bytes) {}
  void Update(std::span<const std::byte>) override {}
  Status Finish(uint64_t total_bytes) override;

 private:
  uint64_t expected_;
};

}  // namespace cellar::core
