// SignerTlsKey: the TLS private key stays behind core::Signer (the token).
//
// OpenSSL 3 routes a "foreign" legacy EC_KEY (one with a non-default EC_KEY_METHOD)
// through its legacy code path, so a method whose sign callbacks call
// Signer::sign_digest works without an engine or a provider. The EC_KEY_METHOD API
// is deprecated in OpenSSL 3 (providers replace it) but present in all 3.x.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "medledger/api/tls.h"
#include "medledger/core/openssl.h"

namespace medledger::api {

namespace {
using core::ErrorCode;

// The only handshake signature the server makes with a signer key: the Signer
// interface signs SHA-256 digests.
constexpr const char* kServerSignatureAlgorithms = "ECDSA+SHA256";

int signer_index() {
  static const int index = EC_KEY_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

ECDSA_SIG* sign_with_signer(const unsigned char* digest, int digest_length, const BIGNUM* /*kinv*/,
                            const BIGNUM* /*r*/, EC_KEY* key) {
  auto* signer = static_cast<core::Signer*>(EC_KEY_get_ex_data(key, signer_index()));
  if (signer == nullptr || digest_length != static_cast<int>(core::kSha256Size)) {
    ERR_raise(ERR_LIB_EC, EC_R_INVALID_DIGEST);
    return nullptr;
  }
  core::Digest d{};
  std::memcpy(d.data(), digest, d.size());
  auto signature = signer->sign_digest(d);
  if (!signature) {
    ERR_raise_data(ERR_LIB_EC, ERR_R_INTERNAL_ERROR, "signer: %s",
                   std::string(core::error_code_name(signature.error().code)).c_str());
    return nullptr;
  }
  const unsigned char* in = signature->data();
  return d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(signature->size()));
}

int sign_der_with_signer(int /*type*/, const unsigned char* digest, int digest_length,
                         unsigned char* out, unsigned int* out_length, const BIGNUM* kinv,
                         const BIGNUM* r, EC_KEY* key) {
  ECDSA_SIG* signature = sign_with_signer(digest, digest_length, kinv, r, key);
  if (signature == nullptr) return 0;
  int length = i2d_ECDSA_SIG(signature, &out);
  ECDSA_SIG_free(signature);
  if (length <= 0) return 0;
  *out_length = static_cast<unsigned int>(length);
  return 1;
}

// One method for the process: OpenSSL keeps a pointer to it in every key.
const EC_KEY_METHOD* signer_method() {
  static EC_KEY_METHOD* method = [] {
    EC_KEY_METHOD* m = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
    if (m != nullptr) EC_KEY_METHOD_set_sign(m, sign_der_with_signer, nullptr, sign_with_signer);
    return m;
  }();
  return method;
}
}  // namespace

core::Result<void> SignerTlsKey::install(SSL_CTX* context) const {
  if (!signer_ || signer_->algorithm() != core::KeyAlgorithm::kEcdsaP256) {
    return core::make_error(ErrorCode::kUnsupportedAlgorithm,
                            "a TLS signer key must be ECDSA P-256");
  }
  const core::Bytes& spki = signer_->public_key_spki();
  const unsigned char* in = spki.data();
  EC_KEY* raw = d2i_EC_PUBKEY(nullptr, &in, static_cast<long>(spki.size()));
  if (raw == nullptr)
    return core::openssl_error(ErrorCode::kMalformedEncoding, "signer public key");
  core::EvpPkeyPtr key(EVP_PKEY_new());
  if (!key || signer_method() == nullptr || EC_KEY_set_method(raw, signer_method()) != 1 ||
      EC_KEY_set_ex_data(raw, signer_index(), signer_.get()) != 1 ||
      EVP_PKEY_assign_EC_KEY(key.get(), raw) != 1) {
    EC_KEY_free(raw);
    return core::openssl_error(ErrorCode::kCryptoError, "signer-backed EC key");
  }
  if (SSL_CTX_use_PrivateKey(context, key.get()) != 1) {
    return core::openssl_error(ErrorCode::kConfigInvalid,
                               "the signer key does not match tls.certificate");
  }
  if (SSL_CTX_set1_sigalgs_list(context, kServerSignatureAlgorithms) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "server signature algorithms");
  }
  return core::success();
}

std::string SignerTlsKey::describe() const {
  return signer_ ? "signer (" + std::string(core::key_algorithm_name(signer_->algorithm())) + ")"
                 : "signer (none)";
}

}  // namespace medledger::api
