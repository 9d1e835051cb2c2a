#include "medledger/node/software_key_agreement.h"

#include <openssl/x509.h>

#include "medledger/hsm/key_agreement.h"

namespace medledger::node {

namespace {
using core::ErrorCode;
}  // namespace

core::Result<std::unique_ptr<SoftwareKeyAgreement>> SoftwareKeyAgreement::generate() {
  core::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return core::openssl_error(ErrorCode::kCryptoError, "generating a P-256 key");
  unsigned char* der = nullptr;
  int size = i2d_PUBKEY(key.get(), &der);
  if (size <= 0) return core::openssl_error(ErrorCode::kCryptoError, "encoding a P-256 public key");
  core::Bytes spki(der, der + size);
  OPENSSL_free(der);
  MEDLEDGER_TRY_ASSIGN(auto point, hsm::p256_point_from_spki(spki));
  return std::unique_ptr<SoftwareKeyAgreement>(
      new SoftwareKeyAgreement(std::move(key), std::move(spki), std::move(point)));
}

core::Result<core::SecretBytes> SoftwareKeyAgreement::derive_shared_secret(
    core::ByteView peer_public_key_spki) {
  // Parsing through p256_point_from_spki first gives the same errors as the token path.
  MEDLEDGER_TRY_ASSIGN(auto point, hsm::p256_point_from_spki(peer_public_key_spki));
  core::EvpPkeyPtr peer =
      core::parse_public_key_spki(peer_public_key_spki.data(), peer_public_key_spki.size());
  if (!peer)
    return core::openssl_error(ErrorCode::kMalformedEncoding, "the peer key is not a DER SPKI");
  core::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "ECDH setup");
  }
  std::size_t size = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &size) != 1 || size != hsm::kEcdhP256SecretSize) {
    return core::openssl_error(ErrorCode::kCryptoError, "ECDH output size");
  }
  core::SecretBytes secret(size);
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &size) != 1 || size != hsm::kEcdhP256SecretSize) {
    return core::openssl_error(ErrorCode::kCryptoError, "ECDH");
  }
  return secret;
}

}  // namespace medledger::node
