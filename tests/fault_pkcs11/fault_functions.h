// The PKCS#11 2.40 function list, in CK_FUNCTION_LIST field order, as an X-macro:
// one place that names every entry the fault module wraps and can fail.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

// One entry a line, in field order (the formatter would pack them).
// clang-format off
#define MEDLEDGER_FAULT_FUNCTIONS(X) \
  X(C_Initialize) \
  X(C_Finalize) \
  X(C_GetInfo) \
  X(C_GetFunctionList) \
  X(C_GetSlotList) \
  X(C_GetSlotInfo) \
  X(C_GetTokenInfo) \
  X(C_GetMechanismList) \
  X(C_GetMechanismInfo) \
  X(C_InitToken) \
  X(C_InitPIN) \
  X(C_SetPIN) \
  X(C_OpenSession) \
  X(C_CloseSession) \
  X(C_CloseAllSessions) \
  X(C_GetSessionInfo) \
  X(C_GetOperationState) \
  X(C_SetOperationState) \
  X(C_Login) \
  X(C_Logout) \
  X(C_CreateObject) \
  X(C_CopyObject) \
  X(C_DestroyObject) \
  X(C_GetObjectSize) \
  X(C_GetAttributeValue) \
  X(C_SetAttributeValue) \
  X(C_FindObjectsInit) \
  X(C_FindObjects) \
  X(C_FindObjectsFinal) \
  X(C_EncryptInit) \
  X(C_Encrypt) \
  X(C_EncryptUpdate) \
  X(C_EncryptFinal) \
  X(C_DecryptInit) \
  X(C_Decrypt) \
  X(C_DecryptUpdate) \
  X(C_DecryptFinal) \
  X(C_DigestInit) \
  X(C_Digest) \
  X(C_DigestUpdate) \
  X(C_DigestKey) \
  X(C_DigestFinal) \
  X(C_SignInit) \
  X(C_Sign) \
  X(C_SignUpdate) \
  X(C_SignFinal) \
  X(C_SignRecoverInit) \
  X(C_SignRecover) \
  X(C_VerifyInit) \
  X(C_Verify) \
  X(C_VerifyUpdate) \
  X(C_VerifyFinal) \
  X(C_VerifyRecoverInit) \
  X(C_VerifyRecover) \
  X(C_DigestEncryptUpdate) \
  X(C_DecryptDigestUpdate) \
  X(C_SignEncryptUpdate) \
  X(C_DecryptVerifyUpdate) \
  X(C_GenerateKey) \
  X(C_GenerateKeyPair) \
  X(C_WrapKey) \
  X(C_UnwrapKey) \
  X(C_DeriveKey) \
  X(C_SeedRandom) \
  X(C_GenerateRandom) \
  X(C_GetFunctionStatus) \
  X(C_CancelFunction) \
  X(C_WaitForSlotEvent)
// clang-format on

namespace medledger::fault {

enum class Function : std::size_t {
#define MEDLEDGER_FAULT_ENUM(name) name,
  MEDLEDGER_FAULT_FUNCTIONS(MEDLEDGER_FAULT_ENUM)
#undef MEDLEDGER_FAULT_ENUM
};

#define MEDLEDGER_FAULT_COUNT(name) +1
inline constexpr std::size_t kFunctionCount = 0 MEDLEDGER_FAULT_FUNCTIONS(MEDLEDGER_FAULT_COUNT);
#undef MEDLEDGER_FAULT_COUNT

/// The function named `name` ("C_Sign"), or nullopt when PKCS#11 2.40 has none.
std::optional<Function> function_from_name(std::string_view name);

/// True for calls that do not reach a device and so still work when it is pulled.
bool is_library_level(Function function);

}  // namespace medledger::fault
