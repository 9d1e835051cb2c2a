// PKCS#11 return values as medledger errors: the CKR_ name, the call that returned
// it, a stable core::ErrorCode, and how the session pool must react to it.
#pragma once

#include <string_view>

#include <p11-kit/pkcs11.h>

#include "medledger/core/error.h"

namespace medledger::hsm {

/// The standard name of a CKR_ value ("CKR_PIN_INCORRECT"); "CKR_VENDOR_DEFINED"
/// for vendor codes and "CKR_UNKNOWN" for anything else. Costs nothing.
std::string_view ckr_name(CK_RV rv);

/// The stable error code for a CKR_ value: PIN_INCORRECT, PIN_LOCKED, PIN_INVALID,
/// MECHANISM_MISSING, TOKEN_NOT_FOUND, TOKEN_UNAVAILABLE, TOKEN_NOT_INITIALIZED,
/// KEY_NOT_FOUND; everything else TOKEN_ERROR.
core::ErrorCode error_code_for(CK_RV rv);

/// An Error whose message ends in "(<call>: <CKR_NAME>)", e.g.
/// "login to token 'ca' failed (C_Login: CKR_PIN_INCORRECT)"; with an empty
/// `context` the message is just "C_Login: CKR_PIN_INCORRECT".
core::Error token_error(std::string_view call, CK_RV rv, std::string_view context = {});

/// How the session pool reacts to a failed call (see SessionPool::with_retry).
enum class FaultClass {
  kNone,         // not a fault of the session or device: report it
  kSession,      // CKR_SESSION_*: drop that session, retry once on another
  kDevice,       // device error/removed, token not present, not logged in, not
                 // initialized: re-initialise the module, find the token, log in, retry once
  kStaleHandle,  // CKR_OBJECT_HANDLE_INVALID / CKR_KEY_HANDLE_INVALID: a cached handle died
                 // (tokens drop private handles at logout): forget cached handles, retry once
};

/// Classifies a CKR_ value. Costs nothing.
FaultClass classify_fault(CK_RV rv);

}  // namespace medledger::hsm
