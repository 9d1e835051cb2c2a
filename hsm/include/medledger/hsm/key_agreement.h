// Key agreement: an EC P-256 key pair whose private half stays in the token and
// computes ECDH (CKM_ECDH1_DERIVE) with a peer's public key -- the node's
// encryption key (identities: docs/architecture.md). Why the shared secret leaves the token
// as raw bytes (and is then fed to HKDF in software) is in docs/encryption.md.
//
// Template of an encryption key pair (the signing-key template of key_store.h
// with the usage swapped; same CKA_ID rule):
//   private: CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE=TRUE, CKA_EXTRACTABLE=FALSE,
//            CKA_DERIVE=TRUE, CKA_SIGN/CKA_DECRYPT/CKA_UNWRAP=FALSE
//   public:  CKA_TOKEN, CKA_PRIVATE=FALSE, CKA_VERIFY/CKA_ENCRYPT/CKA_WRAP/CKA_DERIVE=FALSE
//
//     auto key = TokenKeyAgreement::generate(pool, "node-encryption");
//     auto ka = TokenKeyAgreement::open(pool, key->id);
//     auto z = (*ka)->derive_shared_secret(peer_spki);   // 32 bytes, wiped on destruction
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/secret.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/session_pool.h"

namespace medledger::hsm {

/// Bytes of an ECDH P-256 shared secret: the x-coordinate of the shared point
/// (SEC 1 v2 section 3.3.1), what CKM_ECDH1_DERIVE with CKD_NULL yields.
inline constexpr std::size_t kEcdhP256SecretSize = 32;

/// Bytes of an uncompressed P-256 point: 0x04 || X || Y.
inline constexpr std::size_t kP256PointSize = 65;

/// Anything holding an EC P-256 private key that computes ECDH with it: the
/// token (TokenKeyAgreement) or memory (node::SoftwareKeyAgreement, for tests).
class KeyAgreement {
 public:
  virtual ~KeyAgreement() = default;

  /// ECDH of our private key with the peer's public key (DER SubjectPublicKeyInfo
  /// of a P-256 point): the kEcdhP256SecretSize-byte shared secret. The peer key is
  /// parsed and checked to be on the curve: kMalformedEncoding if it does not parse,
  /// kUnsupportedAlgorithm if it is not P-256.
  virtual core::Result<core::SecretBytes> derive_shared_secret(
      core::ByteView peer_public_key_spki) = 0;

  /// Our public key as DER SubjectPublicKeyInfo.
  virtual const core::Bytes& public_key_spki() const = 0;
};

/// The uncompressed point (kP256PointSize bytes) of a P-256 SPKI, after OpenSSL has
/// parsed it (which checks the point is on the curve). kMalformedEncoding if the
/// SPKI does not parse, kUnsupportedAlgorithm if it is not an EC P-256 key. CPU only.
core::Result<core::Bytes> p256_point_from_spki(core::ByteView spki);

class TokenKeyAgreement final : public KeyAgreement {
 public:
  /// Calls C_GenerateKeyPair (CKM_EC_KEY_PAIR_GEN, P-256) with the template above,
  /// then sets CKA_ID on both halves (the KeyStore rule: first kKeyIdSize bytes of
  /// SHA-256 of the SPKI). kAlreadyExists if a private key with this label exists;
  /// kInvalidArgument for an empty label. Cost: one key generation in the token.
  static core::Result<KeyInfo> generate(const std::shared_ptr<SessionPool>& pool,
                                        const std::string& label);

  /// The encryption key with this CKA_ID. kKeyNotFound if absent; kInvalidArgument
  /// if the key exists but may not derive (CKA_DERIVE=FALSE, e.g. a signing key);
  /// kUnsupportedAlgorithm if it is not P-256. Cost: a few attribute reads.
  static core::Result<std::unique_ptr<TokenKeyAgreement>> open(std::shared_ptr<SessionPool> pool,
                                                               core::ByteView key_id);

  /// Calls C_DeriveKey(CKM_ECDH1_DERIVE, CKD_NULL, peer point) into a session
  /// object (CKK_GENERIC_SECRET, CKA_TOKEN=FALSE, CKA_SENSITIVE=FALSE,
  /// CKA_EXTRACTABLE=TRUE, no usage), reads its CKA_VALUE into SecretBytes and
  /// destroys the object before returning, also on failure. Token errors as
  /// SessionPool::with_retry reports them. Cost: one ECDH in the token, three calls.
  core::Result<core::SecretBytes> derive_shared_secret(
      core::ByteView peer_public_key_spki) override;

  const core::Bytes& public_key_spki() const override { return public_key_spki_; }
  /// CKA_ID of the key pair.
  const core::Bytes& key_id() const { return key_id_; }

 private:
  TokenKeyAgreement(std::shared_ptr<SessionPool> pool, core::Bytes key_id,
                    core::Bytes public_key_spki)
      : pool_(std::move(pool)),
        key_id_(std::move(key_id)),
        public_key_spki_(std::move(public_key_spki)) {}

  std::shared_ptr<SessionPool> pool_;
  core::Bytes key_id_;
  core::Bytes public_key_spki_;
};

}  // namespace medledger::hsm
