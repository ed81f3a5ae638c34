// SHA-256 through OpenSSL's EVP interface.
// Thread-safety: one Sha256Hasher per thread; Sha256() is thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

struct evp_md_ctx_st;

namespace cellar::hash {

inline constexpr size_t kSha256OutLen = 32;

// Streaming SHA-256. Movable, not copyable; a moved-from hasher may only be
// destroyed or assigned to. OpenSSL failures (out of memory) throw
// std::runtime_error.
class Sha256Hasher {
 public:
  Sha256Hasher();
  Sha256Hasher(Sha256Hasher&&) noexcept = default;
  Sha256Hasher& operator=(Sha256Hasher&&) noexcept = default;
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  ~Sha256Hasher() = default;

  void Update(const void* data, size_t len);
  void Update(std::span<const std::byte> data);
  // Returns the digest of everything added since construction or the last
  // Reset()/Finalize(); the hasher is reset afterwards, ready for reuse.
  std::array<uint8_t, kSha256OutLen> Finalize();
  void Reset();

 private:
  struct CtxDeleter {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxDeleter> ctx_;
};

// One-shot SHA-256.
std::array<uint8_t, kSha256OutLen> Sha256(std::span<const std::byte> data);

}  // namespace cellar::hash
