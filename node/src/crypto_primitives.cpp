#include "crypto_primitives.h"

#include <memory>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "medledger/core/openssl.h"
#include "medledger/node/limits.h"

namespace medledger::node::detail {

namespace {
using core::ErrorCode;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, core::OpenSslDeleter<EVP_CIPHER_CTX_free>>;
using KdfPtr = std::unique_ptr<EVP_KDF, core::OpenSslDeleter<EVP_KDF_free>>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, core::OpenSslDeleter<EVP_KDF_CTX_free>>;

// OpenSSL takes lengths as int; every input here is bounded far below INT_MAX by
// the callers' limits, so a larger one is a programmer error caught by the check.
bool fits_int(std::size_t n) { return n <= static_cast<std::size_t>(INT32_MAX); }

core::Result<CipherCtxPtr> gcm_context(const core::SecretBytes& key, core::ByteView nonce,
                                       bool encrypt) {
  if (key.size() != kAesKeySize || nonce.size() != kGcmNonceSize) {
    return core::make_error(ErrorCode::kInternal,
                            "AES-256-GCM needs a 32-byte key and a 12-byte nonce");
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return core::openssl_error(ErrorCode::kCryptoError, "EVP_CIPHER_CTX_new");
  // The default GCM IV length is 12 bytes, the size we use.
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data(),
                        encrypt ? 1 : 0) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "AES-256-GCM init");
  }
  return ctx;
}

// Decrypts into `out` (sealed.size() - tag bytes); wipes `out` when the tag fails.
core::Result<void> open_into(const core::SecretBytes& key, core::ByteView nonce, core::ByteView aad,
                             core::ByteView sealed, std::uint8_t* out) {
  if (sealed.size() < kGcmTagSize || !fits_int(sealed.size()) || !fits_int(aad.size())) {
    return core::make_error(ErrorCode::kDecryptionFailed, "the ciphertext is shorter than its tag");
  }
  const std::size_t body = sealed.size() - kGcmTagSize;
  MEDLEDGER_TRY_ASSIGN(auto ctx, gcm_context(key, nonce, false));
  int written = 0;
  if (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &written, aad.data(),
                                        static_cast<int>(aad.size())) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "AES-256-GCM AAD");
  }
  if (body > 0 &&
      EVP_DecryptUpdate(ctx.get(), out, &written, sealed.data(), static_cast<int>(body)) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "AES-256-GCM decrypt");
  }
  // The tag is const in the API's intent; OpenSSL's signature is not.
  auto* tag = const_cast<std::uint8_t*>(sealed.data() + body);
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagSize), tag) !=
      1) {
    return core::openssl_error(ErrorCode::kCryptoError, "AES-256-GCM set tag");
  }
  int final_written = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), out + body, &final_written) != 1) {
    if (body > 0) OPENSSL_cleanse(out, body);  // never hand out unauthenticated plaintext
    return core::make_error(
        ErrorCode::kDecryptionFailed,
        "authentication failed: the ciphertext, nonce or bound context was altered, "
        "or the key is not the one it was sealed with");
  }
  return core::success();
}
}  // namespace

core::Result<core::Bytes> random_bytes(std::size_t size) {
  core::Bytes out(size);
  if (size > 0 && RAND_bytes(out.data(), static_cast<int>(size)) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "RAND_bytes");
  }
  return out;
}

core::Result<core::SecretBytes> random_secret(std::size_t size) {
  core::SecretBytes out(size);
  if (size > 0 && RAND_priv_bytes(out.data(), static_cast<int>(size)) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "RAND_priv_bytes");
  }
  return out;
}

core::Result<core::Bytes> aes256gcm_seal(const core::SecretBytes& key, core::ByteView nonce,
                                         core::ByteView aad, core::ByteView plaintext) {
  if (!fits_int(plaintext.size()) || !fits_int(aad.size())) {
    return core::make_error(ErrorCode::kInternal, "AES-256-GCM input over 2 GiB");
  }
  MEDLEDGER_TRY_ASSIGN(auto ctx, gcm_context(key, nonce, true));
  core::Bytes out(plaintext.size() + kGcmTagSize);
  int written = 0;
  if (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &written, aad.data(),
                                        static_cast<int>(aad.size())) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "AES-256-GCM AAD");
  }
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), out.data(), &written, plaintext.data(),
                                              static_cast<int>(plaintext.size())) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "AES-256-GCM encrypt");
  }
  int final_written = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &final_written) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "AES-256-GCM final");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagSize),
                          out.data() + plaintext.size()) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "AES-256-GCM get tag");
  }
  return out;
}

core::Result<core::Bytes> aes256gcm_open(const core::SecretBytes& key, core::ByteView nonce,
                                         core::ByteView aad, core::ByteView sealed) {
  core::Bytes out(sealed.size() >= kGcmTagSize ? sealed.size() - kGcmTagSize : 0);
  MEDLEDGER_TRY(open_into(key, nonce, aad, sealed, out.data()));
  return out;
}

core::Result<core::SecretBytes> aes256gcm_open_secret(const core::SecretBytes& key,
                                                      core::ByteView nonce, core::ByteView aad,
                                                      core::ByteView sealed) {
  core::SecretBytes out(sealed.size() >= kGcmTagSize ? sealed.size() - kGcmTagSize : 0);
  MEDLEDGER_TRY(open_into(key, nonce, aad, sealed, out.data()));
  return out;
}

core::Result<core::SecretBytes> hkdf_sha256(core::ByteView ikm, core::ByteView salt,
                                            core::ByteView info, std::size_t length) {
  KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return core::openssl_error(ErrorCode::kCryptoError, "EVP_KDF_fetch(HKDF)");
  KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return core::openssl_error(ErrorCode::kCryptoError, "EVP_KDF_CTX_new");
  char digest[] = "SHA256";
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads these buffers.
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm.data()),
                                        ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<std::uint8_t*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end(),
  };
  core::SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "HKDF-SHA256");
  }
  return out;
}

ContextBytes& ContextBytes::field(std::string_view text) {
  return field(core::ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

ContextBytes& ContextBytes::field(core::ByteView bytes) {
  const auto size = static_cast<std::uint32_t>(bytes.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes_.push_back(static_cast<std::uint8_t>(size >> shift));
  bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
  return *this;
}

ContextBytes& ContextBytes::integer(std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8)
    bytes_.push_back(static_cast<std::uint8_t>(value >> shift));
  return *this;
}

}  // namespace medledger::node::detail
