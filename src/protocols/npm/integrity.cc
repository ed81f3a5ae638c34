#include "protocols/npm/integrity.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "base/base64.h"
#include "base/digest.h"
#include "base/strings.h"

namespace cellar::npm {

namespace {

int Strength(std::string_view alg) {
  if (alg == "sha512") return 4;
  if (alg == "sha384") return 3;
  if (alg == "sha256") return 2;
  if (alg == "sha1") return 1;
  return 0;
}

const EVP_MD* Md(std::string_view alg) {
  if (alg == "sha512") return EVP_sha512();
  if (alg == "sha384") return EVP_sha384();
  if (alg == "sha256") return EVP_sha256();
  return EVP_sha1();
}

std::string SriText(std::string_view alg, const std::vector<uint8_t>& digest) {
  return std::string(alg) + "-" +
         Base64Encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

class IntegrityVerifier : public core::Verifier {
 public:
  IntegrityVerifier(ExpectedDigest expected, std::string what)
      : expected_(std::move(expected)), what_(std::move(what)), ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, Md(expected_.algorithm), nullptr) != 1) {
      throw std::runtime_error("EVP_DigestInit_ex failed");
    }
  }
  ~IntegrityVerifier() override { EVP_MD_CTX_free(ctx_); }

  void Update(std::span<const std::byte> data) override { EVP_DigestUpdate(ctx_, data.data(), data.size()); }

  Status Finish(uint64_t) override {
    std::vector<uint8_t> got(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, got.data(), &len);
    got.resize(len);
    if (got == expected_.digest) return Status();
    return Status::Corruption("integrity mismatch for " + what_ + ": upstream bytes have " +
                              SriText(expected_.algorithm, got) + ", the packument says " +
                              SriText(expected_.algorithm, expected_.digest));
  }

 private:
  ExpectedDigest expected_;
  std::string what_;
  EVP_MD_CTX* ctx_;
};

}  // namespace

std::optional<ExpectedDigest> ParseIntegrity(std::string_view sri) {
  std::optional<ExpectedDigest> best;
  for (auto token : SplitView(sri, ' ')) {
    token = TrimWhitespace(token);
    size_t dash = token.find('-');
    if (dash == std::string_view::npos) continue;
    std::string alg(token.substr(0, dash));
    if (Strength(alg) == 0) continue;
    std::string_view b64 = token.substr(dash + 1);
    if (size_t q = b64.find('?'); q != std::string_view::npos) b64 = b64.substr(0, q);  // SRI options
    auto raw = Base64DecodeAny(b64);
    if (!raw || raw->size() != static_cast<size_t>(EVP_MD_get_size(Md(alg)))) continue;
    if (best && Strength(best->algorithm) >= Strength(alg)) continue;
    best = ExpectedDigest{alg, std::vector<uint8_t>(raw->begin(), raw->end()), std::string(token)};
  }
  return best;
}

std::optional<ExpectedDigest> ParseShasum(std::string_view hex) {
  if (hex.size() != 40) return std::nullopt;
  std::vector<uint8_t> raw;
  for (size_t i = 0; i < 40; i += 2) {
    auto byte = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = byte(hex[i]);
    int lo = byte(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    raw.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return ExpectedDigest{"sha1", raw, "sha1 " + std::string(hex)};
}

std::unique_ptr<core::Verifier> MakeIntegrityVerifier(ExpectedDigest expected, std::string what) {
  return std::make_unique<IntegrityVerifier>(std::move(expected), std::move(what));
}

std::string ComputeSri(std::string_view algorithm, std::string_view data) {
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, Md(algorithm), nullptr);
  out.resize(len);
  return SriText(algorithm, out);
}

}  // namespace cellar::npm
