// TokenSigner: core::Signer over a private key that stays in the token.
#pragma once

#include <memory>

#include "medledger/core/signer.h"
#include "medledger/hsm/session_pool.h"

namespace medledger::hsm {

class TokenSigner final : public core::Signer {
 public:
  /// Signer for the token key with CKA_ID `key_id`; `public_key_spki` is its
  /// public key (KeyStore::signer reads it). No token round trip.
  TokenSigner(std::shared_ptr<SessionPool> pool, core::Bytes key_id, core::KeyAlgorithm algorithm,
              core::Bytes public_key_spki);

  /// P-256: C_SignInit(CKM_ECDSA) + C_Sign over the digest, raw r||s turned into
  /// DER. Ed25519: C_SignInit(CKM_EDDSA) + C_Sign with the 32 digest bytes as the
  /// message. Through SessionPool::with_retry (see its recovery rules); errors
  /// carry the CKR_ name. Cost: one token signature.
  core::Result<core::Bytes> sign_digest(const core::Digest& digest) override;
  const core::Bytes& public_key_spki() const override { return spki_; }
  core::KeyAlgorithm algorithm() const override { return algorithm_; }
  const core::Bytes& key_id() const { return key_id_; }

 private:
  std::shared_ptr<SessionPool> pool_;
  core::Bytes key_id_;
  core::KeyAlgorithm algorithm_;
  core::Bytes spki_;
};

/// Signs `digest` with the private key object `key` on the leased session:
/// C_SignInit + C_Sign, ECDSA converted to DER. Shared by TokenSigner and
/// WrappedKeyStore; errors recorded on the lease for with_retry.
core::Result<core::Bytes> sign_with_object(SessionPool::Lease& lease, CK_OBJECT_HANDLE key,
                                           core::KeyAlgorithm algorithm,
                                           const core::Digest& digest);

}  // namespace medledger::hsm
