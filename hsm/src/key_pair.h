// Internal: the one key-pair template, shared by KeyStore (token keys) and
// WrappedKeyStore (session keys that leave the token only wrapped).
#pragma once

#include <string>

#include "medledger/core/signer.h"
#include "medledger/hsm/session_pool.h"

namespace medledger::hsm::detail {

enum class KeyResidence {
  kToken,               // CKA_TOKEN=TRUE, CKA_EXTRACTABLE=FALSE
  kSessionForWrapping,  // CKA_TOKEN=FALSE, CKA_EXTRACTABLE=TRUE, CKA_WRAP_WITH_TRUSTED=TRUE
};

/// What the private half may do: exactly one of CKA_SIGN / CKA_DERIVE is TRUE.
enum class KeyUsage {
  kSign,          // CKA_SIGN=TRUE (public: CKA_VERIFY=TRUE); CKA_DERIVE=FALSE
  kKeyAgreement,  // CKA_DERIVE=TRUE for ECDH (public: CKA_VERIFY=FALSE); CKA_SIGN=FALSE; P-256 only
};

struct GeneratedKeyPair {
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
  core::Bytes spki;
  core::Bytes id;  // key_id_for(spki), set as CKA_ID on both halves
};

/// C_GenerateKeyPair with the documented template, then CKA_EC_POINT read back and
/// CKA_ID set on both halves (C_SetAttributeValue). Destroys both halves if a step
/// after generation fails. kKeyAgreement with Ed25519 is kUnsupportedAlgorithm.
core::Result<GeneratedKeyPair> generate_key_pair(SessionPool::Lease& lease,
                                                 core::KeyAlgorithm algorithm,
                                                 const std::string& label, KeyResidence residence,
                                                 KeyUsage usage = KeyUsage::kSign);

/// The SPKI of the public key object `public_key` (CKA_KEY_TYPE, CKA_EC_PARAMS, CKA_EC_POINT).
core::Result<core::Bytes> read_public_key(Session& session, CK_OBJECT_HANDLE public_key,
                                          core::KeyAlgorithm* algorithm);

}  // namespace medledger::hsm::detail
