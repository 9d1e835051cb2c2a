#include "medledger/hsm/token_signer.h"

#include <algorithm>
#include <array>

#include "medledger/hsm/public_key.h"

namespace medledger::hsm {

namespace {
constexpr std::size_t kMaxRawSignature = 132;  // covers P-521 r||s and Ed448; ours are 64
}

TokenSigner::TokenSigner(std::shared_ptr<SessionPool> pool, core::Bytes key_id,
                         core::KeyAlgorithm algorithm, core::Bytes public_key_spki)
    : pool_(std::move(pool)),
      key_id_(std::move(key_id)),
      algorithm_(algorithm),
      spki_(std::move(public_key_spki)) {}

core::Result<core::Bytes> TokenSigner::sign_digest(const core::Digest& digest) {
  return pool_->with_retry<core::Bytes>(
      "sign", [&](SessionPool::Lease& lease) -> core::Result<core::Bytes> {
        MEDLEDGER_TRY_ASSIGN(auto key, lease.signing_key(key_id_));
        return sign_with_object(lease, key, algorithm_, digest);
      });
}

core::Result<core::Bytes> sign_with_object(SessionPool::Lease& lease, CK_OBJECT_HANDLE key,
                                           core::KeyAlgorithm algorithm,
                                           const core::Digest& digest) {
  // CKM_ECDSA signs the digest as given; CKM_EDDSA (pure Ed25519) signs a message:
  // the 32 digest bytes, as core::Signer specifies.
  CK_MECHANISM mechanism{algorithm == core::KeyAlgorithm::kEcdsaP256 ? CKM_ECDSA : CKM_EDDSA,
                         nullptr, 0};
  MEDLEDGER_TRY(lease.check("C_SignInit", lease.fn()->C_SignInit(lease.handle(), &mechanism, key)));
  std::array<std::uint8_t, kMaxRawSignature> raw;  // on the stack: no allocation but the result's
  CK_ULONG size = raw.size();
  MEDLEDGER_TRY(lease.check(
      "C_Sign", lease.fn()->C_Sign(lease.handle(), const_cast<std::uint8_t*>(digest.data()),
                                   digest.size(), raw.data(), &size)));
  core::ByteView signature(raw.data(), std::min<std::size_t>(size, raw.size()));
  if (algorithm == core::KeyAlgorithm::kEd25519)
    return core::Bytes(signature.begin(), signature.end());
  return ecdsa_raw_to_der(signature);
}

}  // namespace medledger::hsm
