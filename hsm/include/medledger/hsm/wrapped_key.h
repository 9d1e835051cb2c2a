// Wrapped person keys: generated in the token, leaving it only wrapped under a
// token-resident AES key-encryption key (KEK), unwrapped into session objects
// to sign. For the millions of patients a token cannot hold.
//
// Blob format (all integers big-endian; see docs/hsm.md):
//   "MLWK" | version u8 (=1) | algorithm u8 (1 = ecdsa-p256, 2 = ed25519)
//   | kek_id_len u8 | kek_id | spki_len u16 | spki | wrapped_len u16 | wrapped
// `wrapped` is CKM_AES_KEY_WRAP_PAD (RFC 5649) of the private key's PKCS#8.
#pragma once

#include <memory>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/sha256.h"
#include "medledger/core/signer.h"
#include "medledger/hsm/session_pool.h"

namespace medledger::hsm {

inline constexpr std::uint8_t kWrappedKeyVersion = 1;

struct WrappedKey {
  core::KeyAlgorithm algorithm = core::KeyAlgorithm::kEcdsaP256;
  core::Bytes kek_id;               // CKA_ID of the KEK (1..255 bytes)
  core::Bytes public_key_spki;      // DER SubjectPublicKeyInfo
  core::Bytes wrapped_private_key;  // RFC 5649 output
};

/// The blob bytes of `key` (format above). Pure.
core::Bytes encode_wrapped_key(const WrappedKey& key);
/// Parses a blob; bad magic/version/algorithm, wrong lengths, trailing bytes, an
/// unparsable SPKI or a blob over kMaxWrappedKeyBlob are kWrappedKeyInvalid. Pure.
core::Result<WrappedKey> decode_wrapped_key(core::ByteView blob);

class PairedBlobs;  // blobs whose key pair was checked once (wrapped_key.cpp)

class WrappedKeyStore {
 public:
  /// Uses the KEK with CKA_ID `kek_id` (create_kek returns it). Checks that the
  /// KEK exists (kKeyNotFound otherwise). One token round trip.
  static core::Result<std::unique_ptr<WrappedKeyStore>> open(std::shared_ptr<SessionPool> pool,
                                                             core::Bytes kek_id);
  ~WrappedKeyStore();

  /// Generates a key pair as session objects (C_GenerateKeyPair with CKA_TOKEN=FALSE,
  /// CKA_SENSITIVE=TRUE, CKA_EXTRACTABLE=TRUE, CKA_WRAP_WITH_TRUSTED=TRUE), wraps the
  /// private key (C_WrapKey, CKM_AES_KEY_WRAP_PAD), destroys both session objects and
  /// returns the blob (remembered as paired: its public key came from the token).
  /// Cost: a key generation and a wrap.
  core::Result<core::Bytes> generate(core::KeyAlgorithm algorithm);

  /// Signs with the key in `blob`. First the pool's unwrapped-key cache is looked
  /// up by SHA-256 of the blob (a hit costs one hash and one token signature: the
  /// blob is not decoded). On a miss the blob is decoded, unwrapped (C_UnwrapKey into
  /// a session object with CKA_TOKEN=FALSE, CKA_SENSITIVE=TRUE, CKA_EXTRACTABLE=FALSE,
  /// CKA_SIGN=TRUE), signed with, and cached; the first time this store sees a blob
  /// its signature is also verified against the blob's public key. A blob that is
  /// malformed, made under another KEK, does not unwrap or whose keys do not pair
  /// is kWrappedKeyInvalid.
  core::Result<core::Bytes> sign_digest(core::ByteView blob, const core::Digest& digest);

  /// A core::Signer over a blob (decoded once; kWrappedKeyInvalid if malformed).
  /// Signs as sign_digest does. It may outlive the store, not the pool's token.
  core::Result<std::unique_ptr<core::Signer>> signer(core::ByteView blob);

  const core::Bytes& kek_id() const { return kek_id_; }

 private:
  WrappedKeyStore(std::shared_ptr<SessionPool> pool, core::Bytes kek_id);

  std::shared_ptr<SessionPool> pool_;
  core::Bytes kek_id_;
  std::shared_ptr<PairedBlobs> paired_;  // shared with the signers made here
};

}  // namespace medledger::hsm
