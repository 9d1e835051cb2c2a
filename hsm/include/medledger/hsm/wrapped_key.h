// Wrapped person keys: generated in the token, leaving it only wrapped under a
// token-resident AES key-encryption key (KEK), unwrapped into session objects
// to sign. For the millions of patients a token cannot hold.
//
// Blob format (all integers big-endian; see docs/hsm.md):
//   "MLWK" | version u8 (=2) | algorithm u8 (1 = ecdsa-p256, 2 = ed25519)
//   | wrap_mechanism u32 | wrap_format u8 | kek_id_len u8 | kek_id
//   | spki_len u16 | spki | wrapped_len u16 | wrapped
// `wrapped` is the private key's PKCS#8 wrapped with `wrap_mechanism`, whose output
// is `wrap_format`: tokens disagree on what CKM_AES_KEY_WRAP_PAD produces, so the
// format is what another token must reproduce. Version 1 blobs (no mechanism or
// format fields) are CKM_AES_KEY_WRAP_PAD, RFC 5649, and are still read.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/sha256.h"
#include "medledger/core/signer.h"
#include "medledger/hsm/session_pool.h"

namespace medledger::hsm {

inline constexpr std::uint8_t kWrappedKeyVersion = 2;

/// What a wrap mechanism's output is.
enum class WrapFormat : std::uint8_t {
  kRfc5649 = 1,       // AES key wrap with padding (CKM_AES_KEY_WRAP_KWP; SoftHSM2's _PAD)
  kRfc3394Pkcs7 = 2,  // PKCS #7 padding, then RFC 3394 (NSS's CKM_AES_KEY_WRAP_PAD)
};
/// "RFC 5649", "RFC 3394 with PKCS #7 padding".
const char* wrap_format_name(WrapFormat format);

struct WrappedKey {
  core::KeyAlgorithm algorithm = core::KeyAlgorithm::kEcdsaP256;
  core::Bytes kek_id;                                    // CKA_ID of the KEK (1..255 bytes)
  core::Bytes public_key_spki;                           // DER SubjectPublicKeyInfo
  core::Bytes wrapped_private_key;                       // wrap_mechanism's output
  CK_MECHANISM_TYPE wrap_mechanism = kCkmAesKeyWrapKwp;  // or CKM_AES_KEY_WRAP_PAD
  WrapFormat wrap_format = WrapFormat::kRfc5649;
};

/// The version 2 blob bytes of `key` (format above). Pure.
core::Bytes encode_wrapped_key(const WrappedKey& key);
/// Parses a version 2 or 1 blob; bad magic/version/algorithm, a mechanism other than
/// CKM_AES_KEY_WRAP_KWP/_PAD or a format it cannot produce, wrong lengths, trailing
/// bytes, an unparsable SPKI or a blob over kMaxWrappedKeyBlob are kWrappedKeyInvalid.
/// Pure.
core::Result<WrappedKey> decode_wrapped_key(core::ByteView blob);

class WrappedKeyState;  // what a store shares with its signers (wrapped_key.cpp)

class WrappedKeyStore {
 public:
  /// Uses the KEK with CKA_ID `kek_id` (create_kek returns it). Checks the token
  /// offers wrapped keys (kMechanismMissing) and that the KEK exists (kKeyNotFound),
  /// reads its CKA_TRUSTED, and, where the token offers CKM_AES_KEY_WRAP_PAD, finds
  /// out which format that produces under this KEK: a 16-byte known value is wrapped
  /// (RFC 5649 gives 24 bytes, RFC 3394 with PKCS #7 padding 32), unwrapped and
  /// compared. A handful of token round trips, once per store.
  static core::Result<std::unique_ptr<WrappedKeyStore>> open(std::shared_ptr<SessionPool> pool,
                                                             core::Bytes kek_id);
  ~WrappedKeyStore();

  /// Generates a key pair as session objects (C_GenerateKeyPair with CKA_TOKEN=FALSE,
  /// CKA_SENSITIVE=TRUE, CKA_EXTRACTABLE=TRUE, CKA_WRAP_WITH_TRUSTED=TRUE), wraps the
  /// private key (C_WrapKey with generate_mechanism()), destroys both session objects
  /// and returns the blob (remembered as paired: its public key came from the token).
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
  /// The mechanism generate() wraps with: CKM_AES_KEY_WRAP_KWP where offered, else
  /// CKM_AES_KEY_WRAP_PAD (whose format pad_format() names).
  CK_MECHANISM_TYPE generate_mechanism() const;
  /// What this token's CKM_AES_KEY_WRAP_PAD produces under the KEK; empty if the
  /// token lacks it or the output is neither known format.
  std::optional<WrapFormat> pad_format() const;
  /// The KEK's CKA_TRUSTED (a KEK made without the SO has it FALSE).
  bool kek_trusted() const;

  /// What open() learnt about the token and KEK (shared with signers).
  struct WrapPlan {
    bool kwp = false;                      // the token offers CKM_AES_KEY_WRAP_KWP
    std::optional<WrapFormat> pad_format;  // CKM_AES_KEY_WRAP_PAD's format, if usable
    bool kek_trusted = false;
    std::string token_label;
  };

 private:
  WrappedKeyStore(std::shared_ptr<SessionPool> pool, core::Bytes kek_id, WrapPlan plan);

  std::shared_ptr<SessionPool> pool_;
  core::Bytes kek_id_;
  std::shared_ptr<WrappedKeyState> state_;  // shared with the signers made here
};

}  // namespace medledger::hsm
