// DeclaredContentVerifier: checks an upload against the size and SHA-256 a
// signed URL promised (either may be absent), so a body that differs is
// refused before anything is stored. Shared by the negotiate API's signed
// uploads and VelocityCache's /v1/proxy/blob/ uploads.
// Thread-safety: one upload at a time, like every Verifier.
#pragma once

#include <memory>

#include "auth/url_signer.h"
#include "base/digest.h"
#include "core/verifier.h"

namespace cellar::negotiate {

class DeclaredContentVerifier : public core::Verifier {
 public:
  explicit DeclaredContentVerifier(const auth::SignedGrant& grant) {
    if (grant.size) size_ = std::make_unique<core::SizeVerifier>(*grant.size);
    if (grant.sha256) {
      if (auto d = Digest::FromHex(*grant.sha256); d.ok()) sha_ = std::make_unique<core::Sha256Verifier>(d->bytes);
    }
  }
  void Update(std::span<const std::byte> data) override {
    if (sha_) sha_->Update(data);
  }
  Status Finish(uint64_t total_bytes) override {
    if (size_) CELLAR_RETURN_IF_ERROR(size_->Finish(total_bytes));
    if (sha_) CELLAR_RETURN_IF_ERROR(sha_->Finish(total_bytes));
    return Status();
  }

 private:
  std::unique_ptr<core::SizeVerifier> size_;
  std::unique_ptr<core::Sha256Verifier> sha_;
};

}  // namespace cellar::negotiate
