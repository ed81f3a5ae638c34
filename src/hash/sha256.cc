#include "hash/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>
#include <string>

namespace cellar::hash {
namespace {

[[noreturn]] void Fail(const char* what) {
  throw std::runtime_error(std::string("OpenSSL SHA-256: ") + what + " failed");
}

// OpenSSL 3 looks the algorithm up on every init unless it is fetched once.
const EVP_MD* Sha256Md() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
#else
  return EVP_sha256();
#endif
}

}  // namespace

void Sha256Hasher::CtxDeleter::operator()(evp_md_ctx_st* ctx) const {
  EVP_MD_CTX_free(ctx);
}

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) Fail("EVP_MD_CTX_new");
  Reset();
}

void Sha256Hasher::Reset() {
  if (EVP_DigestInit_ex(ctx_.get(), Sha256Md(), nullptr) != 1) {
    Fail("EVP_DigestInit_ex");
  }
}

void Sha256Hasher::Update(const void* data, size_t len) {
  if (len == 0) return;
  if (EVP_DigestUpdate(ctx_.get(), data, len) != 1) Fail("EVP_DigestUpdate");
}

void Sha256Hasher::Update(std::span<const std::byte> data) {
  Update(data.data(), data.size());
}

std::array<uint8_t, kSha256OutLen> Sha256Hasher::Finalize() {
  std::array<uint8_t, kSha256OutLen> out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), out.data(), &len) != 1 ||
      len != kSha256OutLen) {
    Fail("EVP_DigestFinal_ex");
  }
  Reset();
  return out;
}

std::array<uint8_t, kSha256OutLen> Sha256(std::span<const std::byte> data) {
  std::array<uint8_t, kSha256OutLen> out;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, Sha256Md(),
                 nullptr) != 1 ||
      len != kSha256OutLen) {
    Fail("EVP_Digest");
  }
  return out;
}

}  // namespace cellar::hash
