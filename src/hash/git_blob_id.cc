#include "hash/git_blob_id.h"

#include <openssl/evp.h>

#include <stdexcept>
#include <string>

namespace cellar::hash {
namespace {

[[noreturn]] void Fail(const char* what) {
  throw std::runtime_error(std::string("OpenSSL SHA-1: ") + what + " failed");
}

// OpenSSL 3 looks the algorithm up on every init unless it is fetched once.
const EVP_MD* Sha1Md() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    return fetched != nullptr ? fetched : EVP_sha1();
  }();
  return md;
#else
  return EVP_sha1();
#endif
}

}  // namespace

void GitBlobHasher::CtxDeleter::operator()(evp_md_ctx_st* ctx) const {
  EVP_MD_CTX_free(ctx);
}

GitBlobHasher::GitBlobHasher() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) Fail("EVP_MD_CTX_new");
}

void GitBlobHasher::Begin(uint64_t size) {
  if (EVP_DigestInit_ex(ctx_.get(), Sha1Md(), nullptr) != 1) Fail("EVP_DigestInit_ex");
  // git's object header: type, a space, the decimal size, a NUL.
  const std::string header = "blob " + std::to_string(size);
  if (EVP_DigestUpdate(ctx_.get(), header.c_str(), header.size() + 1) != 1) {
    Fail("EVP_DigestUpdate");
  }
  content_bytes_ = 0;
}

void GitBlobHasher::Update(const void* data, size_t len) {
  if (len == 0) return;
  if (EVP_DigestUpdate(ctx_.get(), data, len) != 1) Fail("EVP_DigestUpdate");
  content_bytes_ += len;
}

GitBlobIdBytes GitBlobHasher::Finalize() {
  GitBlobIdBytes out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), out.data(), &len) != 1 || len != kGitBlobIdLen) {
    Fail("EVP_DigestFinal_ex");
  }
  return out;
}

GitBlobIdBytes GitBlobId(std::span<const std::byte> content) {
  GitBlobHasher hasher;
  hasher.Begin(content.size());
  hasher.Update(content.data(), content.size());
  return hasher.Finalize();
}

}  // namespace cellar::hash
