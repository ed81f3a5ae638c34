// libcrypto's functions that cellar calls, forwarded to libcrypto loaded on
// first use (see lazy_library.h). When it cannot be loaded, they fail the way
// OpenSSL reports failure: 0 from the int functions, null from the others.
// CRYPTO_memcmp then says "different", and RAND_bytes "no randomness", so a
// failure can never pass a check.

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "lazyload/libraries.h"

using cellar::lazyload::Libcrypto;

extern "C" {

EVP_MD_CTX*(EVP_MD_CTX_new)(void) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_MD_CTX_new);
  return fn != nullptr ? fn() : nullptr;
}

void(EVP_MD_CTX_free)(EVP_MD_CTX* ctx) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_MD_CTX_free);
  if (fn != nullptr) fn(ctx);
}

int(EVP_DigestInit_ex)(EVP_MD_CTX* ctx, const EVP_MD* type, ENGINE* impl) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_DigestInit_ex);
  return fn != nullptr ? fn(ctx, type, impl) : 0;
}

int(EVP_DigestUpdate)(EVP_MD_CTX* ctx, const void* data, size_t count) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_DigestUpdate);
  return fn != nullptr ? fn(ctx, data, count) : 0;
}

int(EVP_DigestFinal_ex)(EVP_MD_CTX* ctx, unsigned char* md, unsigned int* size) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_DigestFinal_ex);
  return fn != nullptr ? fn(ctx, md, size) : 0;
}

int(EVP_Digest)(const void* data, size_t count, unsigned char* md, unsigned int* size, const EVP_MD* type,
                ENGINE* impl) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_Digest);
  return fn != nullptr ? fn(data, count, md, size, type, impl) : 0;
}

EVP_MD*(EVP_MD_fetch)(OSSL_LIB_CTX* ctx, const char* algorithm, const char* properties) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_MD_fetch);
  return fn != nullptr ? fn(ctx, algorithm, properties) : nullptr;
}

void(EVP_MD_free)(EVP_MD* md) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_MD_free);
  if (fn != nullptr) fn(md);
}

int(EVP_MD_get_size)(const EVP_MD* md) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_MD_get_size);
  return fn != nullptr ? fn(md) : 0;
}

const EVP_MD*(EVP_sha1)(void) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_sha1);
  return fn != nullptr ? fn() : nullptr;
}

const EVP_MD*(EVP_sha256)(void) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_sha256);
  return fn != nullptr ? fn() : nullptr;
}

const EVP_MD*(EVP_sha384)(void) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_sha384);
  return fn != nullptr ? fn() : nullptr;
}

const EVP_MD*(EVP_sha512)(void) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), EVP_sha512);
  return fn != nullptr ? fn() : nullptr;
}

unsigned char*(HMAC)(const EVP_MD* md, const void* key, int key_len, const unsigned char* data, size_t data_len,
                     unsigned char* out, unsigned int* out_len) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), HMAC);
  return fn != nullptr ? fn(md, key, key_len, data, data_len, out, out_len) : nullptr;
}

int(RAND_bytes)(unsigned char* buffer, int count) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), RAND_bytes);
  return fn != nullptr ? fn(buffer, count) : 0;
}

int(CRYPTO_memcmp)(const void* a, const void* b, size_t count) {
  CELLAR_LAZY_FUNCTION(Libcrypto(), CRYPTO_memcmp);
  return fn != nullptr ? fn(a, b, count) : 1;
}

}  // extern "C"
