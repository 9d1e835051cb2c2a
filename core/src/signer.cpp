#include "medledger/core/signer.h"

#include <openssl/err.h>

#include "medledger/core/openssl.h"

namespace medledger::core {

std::string_view key_algorithm_name(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::kEcdsaP256: return "ecdsa-p256";
    case KeyAlgorithm::kEd25519: return "ed25519";
  }
  return "unknown";
}

Result<KeyAlgorithm> parse_key_algorithm(std::string_view name) {
  if (name == "ecdsa-p256" || name == "p256" || name == "ec") return KeyAlgorithm::kEcdsaP256;
  if (name == "ed25519") return KeyAlgorithm::kEd25519;
  return make_error(ErrorCode::kUnsupportedAlgorithm,
                    "unknown key algorithm '" + std::string(name) + "' (ecdsa-p256 or ed25519)");
}

Result<void> verify_digest_signature(ByteView public_key_spki, const Digest& digest, ByteView signature) {
  EvpPkeyPtr key = parse_public_key_spki(public_key_spki.data(), public_key_spki.size());
  if (!key) {
    ERR_clear_error();
    return make_error(ErrorCode::kMalformedEncoding, "public key is not a DER SubjectPublicKeyInfo");
  }
  int id = EVP_PKEY_get_base_id(key.get());
  if (id == EVP_PKEY_ED25519) {
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
      return openssl_error(ErrorCode::kCryptoError, "Ed25519 verify init");
    }
    int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), digest.data(), digest.size());
    ERR_clear_error();
    if (rc != 1) return make_error(ErrorCode::kSignatureInvalid, "Ed25519 signature does not verify");
    return success();
  }
  if (id == EVP_PKEY_EC) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key.get(), group, sizeof group, &len) != 1 ||
        std::string_view(group) != "prime256v1") {
      return make_error(ErrorCode::kUnsupportedAlgorithm, "EC key is not on P-256");
    }
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) {
      return openssl_error(ErrorCode::kCryptoError, "ECDSA verify init");
    }
    int rc = EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(), digest.size());
    ERR_clear_error();
    if (rc != 1) return make_error(ErrorCode::kSignatureInvalid, "ECDSA signature does not verify");
    return success();
  }
  return make_error(ErrorCode::kUnsupportedAlgorithm, "public key is neither P-256 nor Ed25519");
}

Digest public_key_fingerprint(ByteView public_key_spki) { return sha256(public_key_spki); }

}  // namespace medledger::core
