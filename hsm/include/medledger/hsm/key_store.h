// KeyStore: token-resident signing keys -- generate, list, find, export public.
//
// Template of every generated key pair (why in docs/hsm.md):
//   private: CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE=TRUE, CKA_EXTRACTABLE=FALSE,
//            CKA_SIGN=TRUE, CKA_DECRYPT/CKA_DERIVE/CKA_UNWRAP=FALSE, CKA_LABEL, CKA_ID
//   public:  CKA_TOKEN, CKA_PRIVATE=FALSE, CKA_VERIFY=TRUE, CKA_ENCRYPT/CKA_WRAP/
//            CKA_DERIVE=FALSE, CKA_LABEL, CKA_ID
// CKA_ID rule: the first 20 bytes of SHA-256 of the public key's SPKI DER, set on
// both halves with C_SetAttributeValue right after C_GenerateKeyPair (the public
// key only exists after generation). Handles are cached by CKA_ID in the pool.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/signer.h"
#include "medledger/hsm/session_pool.h"

namespace medledger::hsm {

class TokenSigner;

/// One key pair in the token.
struct KeyInfo {
  core::Bytes id;     // CKA_ID (kKeyIdSize bytes for keys we generate)
  std::string label;  // CKA_LABEL
  core::KeyAlgorithm algorithm;
  core::Bytes public_key_spki;  // DER SubjectPublicKeyInfo
};

struct KeySpec {
  std::string label;  // CKA_LABEL; non-empty, unique among private keys
  core::KeyAlgorithm algorithm = core::KeyAlgorithm::kEcdsaP256;
};

class KeyStore {
 public:
  explicit KeyStore(std::shared_ptr<SessionPool> pool) : pool_(std::move(pool)) {}

  /// Calls C_GenerateKeyPair (CKM_EC_KEY_PAIR_GEN or CKM_EC_EDWARDS_KEY_PAIR_GEN)
  /// with the template above, reads CKA_EC_POINT, then C_SetAttributeValue(CKA_ID)
  /// on both halves. kAlreadyExists if the label is taken; kMechanismMissing if
  /// the token lacks the mechanism; kInvalidArgument for an empty label. On a
  /// failure after generation both halves are destroyed. Cost: a key generation.
  core::Result<KeyInfo> generate(const KeySpec& spec);

  /// Every private key that has a matching public key (C_FindObjects over
  /// CKO_PRIVATE_KEY, at most kMaxListedObjects), sorted by label then id.
  core::Result<std::vector<KeyInfo>> list();

  /// The key pair with this CKA_ID; kKeyNotFound if absent.
  core::Result<KeyInfo> find_by_id(core::ByteView id);

  /// The key pair with this CKA_LABEL; kKeyNotFound if absent, kInvalidArgument if
  /// several private keys share the label.
  core::Result<KeyInfo> find_by_label(const std::string& label);

  /// A Signer for the key with this CKA_ID (public key read once and cached).
  /// kKeyNotFound if absent.
  core::Result<std::unique_ptr<TokenSigner>> signer(core::ByteView id);

  /// Calls C_DestroyObject on both halves. kKeyNotFound if absent.
  core::Result<void> destroy(core::ByteView id);

  const std::shared_ptr<SessionPool>& pool() const { return pool_; }

 private:
  std::shared_ptr<SessionPool> pool_;
};

}  // namespace medledger::hsm
