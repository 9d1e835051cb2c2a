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

/// PKCS#11 3.0's RFC 5649 key wrap (not in p11-kit's 2.40 header).
inline constexpr CK_MECHANISM_TYPE kCkmAesKeyWrapKwp = 0x210B;

/// What medledger can do with a token, each needing its own mechanisms; a token
/// lacking one still serves the others (checked when the capability is used).
enum class Capability {
  kEcdsaP256,     // CKM_EC_KEY_PAIR_GEN + CKM_ECDSA: node, CA and person keys
  kEd25519,       // CKM_EC_EDWARDS_KEY_PAIR_GEN + CKM_EDDSA
  kWrappedKeys,   // CKM_EC_KEY_PAIR_GEN + (CKM_AES_KEY_WRAP_KWP or CKM_AES_KEY_WRAP_PAD)
  kKekCreate,     // CKM_AES_KEY_GEN
  kKeyAgreement,  // CKM_ECDH1_DERIVE: sealing keys in the token
};
inline constexpr Capability kAllCapabilities[] = {Capability::kEcdsaP256, Capability::kEd25519,
                                                  Capability::kWrappedKeys, Capability::kKekCreate,
                                                  Capability::kKeyAgreement};

/// "ecdsa-p256 signing", "wrapped person keys", ...
const char* capability_name(Capability capability);

/// The mechanisms `capability` needs that `offered` lacks, by name; alternatives are
/// joined ("CKM_AES_KEY_WRAP_KWP or CKM_AES_KEY_WRAP_PAD"). Empty: supported. Pure.
std::vector<std::string> missing_for(Capability capability,
                                     const std::vector<CK_MECHANISM_TYPE>& offered);

/// kMechanismMissing naming the first missing mechanism and the capability ("token
/// 'x' lacks CKM_ECDSA, needed for ecdsa-p256 signing"), or success. Pure.
core::Result<void> check_capability(Capability capability,
                                    const std::vector<CK_MECHANISM_TYPE>& offered,
                                    const std::string& token_label);

/// The "CKM_..." name of a mechanism (PKCS#11 2.40 and 3.0), "CKM_VENDOR_DEFINED+0x.."
/// for a vendor's, or "CKM_0x<hex>" for a value no standard names.
std::string mechanism_name(CK_MECHANISM_TYPE mechanism);

/// Calls C_GetMechanismList for the slot (at most kMaxMechanisms).
core::Result<std::vector<CK_MECHANISM_TYPE>> token_mechanisms(const Module& module,
                                                              CK_SLOT_ID slot);

/// One capability as `token status` shows it.
struct CapabilityStatus {
  Capability capability;
  std::vector<std::string> missing;  // empty: supported
};

/// What `medledger token status` reports.
struct TokenStatus {
  TokenInfo token;
  std::vector<CK_MECHANISM_TYPE> mechanisms;   // all the token offers
  std::vector<CapabilityStatus> capabilities;  // each of kAllCapabilities
  bool objects_counted = false;                // false when no user PIN was given
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

/// A KEK made by the user, not the SO.
struct UserKek {
  core::Bytes id;               // CKA_ID, as create_kek
  bool trust_enforced = false;  // always false on success (see create_kek_without_so)
};

/// For tokens without a security officer (NSS's softoken once it has a password):
/// C_Login(CKU_USER) then the KEK of create_kek but CKA_PRIVATE=TRUE and without
/// CKA_TRUSTED (only the SO may set it). Person keys carry CKA_WRAP_WITH_TRUSTED, so
/// the token is probed: a throwaway key with that attribute is wrapped under the new
/// KEK. A token that refuses (it enforces the attribute, as PKCS#11 requires) could
/// never wrap person keys with this KEK: it is destroyed and the result is
/// kInvalidArgument (use create_kek with the SO PIN). A token that wraps it does not
/// enforce CKA_WRAP_WITH_TRUSTED (trust_enforced=false): any key with CKA_WRAP could
/// then wrap person keys out, and the caller must say so. Errors as create_kek, plus
/// kMechanismMissing without a wrap mechanism.
core::Result<UserKek> create_kek_without_so(const Module& module, const TokenSelector& selector,
                                            const core::SecretBytes& user_pin,
                                            const std::string& label = kDefaultKekLabel);

}  // namespace medledger::hsm
