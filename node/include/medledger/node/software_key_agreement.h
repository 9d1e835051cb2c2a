// SoftwareKeyAgreement: an EC P-256 key pair in memory that computes ECDH with
// OpenSSL. The writer's ephemeral key when wrapping a patient key, and a stand-in
// recipient in tests; a node's own encryption key lives in its token
// (hsm::TokenKeyAgreement), never here.
#pragma once

#include <memory>

#include "medledger/core/openssl.h"
#include "medledger/hsm/key_agreement.h"

namespace medledger::node {

class SoftwareKeyAgreement final : public hsm::KeyAgreement {
 public:
  /// A fresh P-256 key pair from OpenSSL's CSPRNG. kCryptoError if OpenSSL fails. CPU only.
  static core::Result<std::unique_ptr<SoftwareKeyAgreement>> generate();

  /// EVP_PKEY_derive (ECDH, cofactor 1 for P-256): the 32-byte x-coordinate of
  /// the shared point. Errors as hsm::KeyAgreement says. CPU only (~0.1 ms).
  core::Result<core::SecretBytes> derive_shared_secret(
      core::ByteView peer_public_key_spki) override;

  const core::Bytes& public_key_spki() const override { return public_key_spki_; }

  /// Our public key as an uncompressed point (65 bytes).
  const core::Bytes& public_point() const { return public_point_; }

 private:
  SoftwareKeyAgreement(core::EvpPkeyPtr key, core::Bytes spki, core::Bytes point)
      : key_(std::move(key)), public_key_spki_(std::move(spki)), public_point_(std::move(point)) {}

  core::EvpPkeyPtr
      key_;  // OpenSSL keeps the private scalar in its secure-ish heap and frees it wiped
  core::Bytes public_key_spki_;
  core::Bytes public_point_;
};

}  // namespace medledger::node
