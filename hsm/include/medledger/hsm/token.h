// Token: finding a token among a module's slots, and provisioning it.
//
// Every call here is a handful of token round trips; none keeps a session open.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <p11-kit/pkcs11.h>

#include "medledger/core/result.h"
#include "medledger/core/secret.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/token_selector.h"

namespace medledger::hsm {

/// What C_GetTokenInfo says about a token, blank padding trimmed.
struct TokenInfo {
  CK_SLOT_ID slot =
      0;  // valid only until the module is re-initialised; never shown to users as a name
  std::string label;
  std::string serial;
  std::string manufacturer;
  std::string model;
  CK_FLAGS flags = 0;
  bool initialized = false;        // CKF_TOKEN_INITIALIZED
  CK_ULONG session_count = 0;      // ulSessionCount (CK_UNAVAILABLE_INFORMATION if unknown)
  CK_ULONG max_session_count = 0;  // ulMaxSessionCount
  CK_ULONG rw_session_count = 0;   // ulRwSessionCount
};

/// Calls C_GetSlotList(CK_TRUE) and C_GetTokenInfo for each slot with a token
/// (at most kMaxSlots). Returns kTokenError with the CKR_ name on failure.
core::Result<std::vector<TokenInfo>> list_tokens(const Module& module);

/// The one initialised token matching `selector`. No match is kTokenNotFound
/// (the message lists the labels seen); several are kTokenAmbiguous; a match that
/// is not initialised is kTokenNotInitialized.
core::Result<TokenInfo> find_token(const Module& module, const TokenSelector& selector);

/// Calls C_InitToken(so_pin, label) on the first slot holding an uninitialised
/// token, then C_Login(CKU_SO) + C_InitPIN(user_pin) on it, and returns the new
/// token as found again by label. kAlreadyExists if an initialised token already
/// has this label; kTokenNotFound if no slot has a free token; PIN_* errors
/// from the token. Labels longer than 32 bytes are kInvalidArgument.
core::Result<TokenInfo> init_token(const Module& module, const std::string& label,
                                   const core::SecretBytes& so_pin,
                                   const core::SecretBytes& user_pin);

/// Mechanisms the hsm module needs (all) or can use (optional).
struct MechanismNeed {
  CK_MECHANISM_TYPE mechanism;
  const char* name;  // "CKM_ECDSA"
  bool required;
};
/// Required: CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_AES_KEY_GEN, CKM_AES_KEY_WRAP_PAD.
/// Optional: CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA, CKM_ECDH1_DERIVE.
const std::vector<MechanismNeed>& mechanism_needs();

/// The "CKM_..." name of a mechanism, or "CKM_0x<hex>" for one we do not name.
std::string mechanism_name(CK_MECHANISM_TYPE mechanism);

/// Calls C_GetMechanismList for the slot (at most kMaxMechanisms).
core::Result<std::vector<CK_MECHANISM_TYPE>> token_mechanisms(const Module& module,
                                                              CK_SLOT_ID slot);

/// Checks that the slot offers every required mechanism; the first missing one is
/// kMechanismMissing naming it ("token 'x' lacks CKM_AES_KEY_WRAP_PAD ..."). One
/// round trip. Called by SessionPool::open at start-up.
core::Result<void> probe_required_mechanisms(const Module& module, const TokenInfo& token);

/// What `medledger token status` reports.
struct TokenStatus {
  TokenInfo token;
  std::vector<CK_MECHANISM_TYPE> mechanisms;  // all the token offers
  std::vector<std::string> missing_required;  // names of required mechanisms it lacks
  std::vector<std::string> missing_optional;  // names of optional mechanisms it lacks
  bool objects_counted = false;               // false when no user PIN was given
  std::size_t private_keys = 0;
  std::size_t public_keys = 0;
  std::size_t secret_keys = 0;
};

/// Finds the token, reads its mechanisms and, when `user_pin` is not null, logs in
/// (C_Login, CKR_USER_ALREADY_LOGGED_IN is success) and counts objects by class
/// (token objects only) with C_FindObjects. Errors as find_token and the PIN_* codes.
core::Result<TokenStatus> token_status(const Module& module, const TokenSelector& selector,
                                       const core::SecretBytes* user_pin);

/// Label of the key-encryption key create_kek() makes unless told otherwise.
inline constexpr const char* kDefaultKekLabel = "medledger-kek";

/// Creates the token-resident AES-256 key-encryption key that wraps person keys:
/// C_Login(CKU_SO) then C_GenerateKey(CKM_AES_KEY_GEN) with CKA_TOKEN, CKA_TRUSTED,
/// CKA_WRAP, CKA_UNWRAP, CKA_SENSITIVE, CKA_EXTRACTABLE=FALSE, CKA_PRIVATE=FALSE
/// (PKCS#11 lets only the SO set CKA_TRUSTED and an SO session may only create
/// public objects; see docs/hsm.md), and CKA_ID = SHA-256(label)[0..20). Returns
/// its CKA_ID. kAlreadyExists if a secret key with this label exists;
/// kMechanismMissing without CKM_AES_KEY_GEN; PIN_* errors for the SO PIN.
core::Result<core::Bytes> create_kek(const Module& module, const TokenSelector& selector,
                                     const core::SecretBytes& so_pin,
                                     const std::string& label = kDefaultKekLabel);

}  // namespace medledger::hsm
