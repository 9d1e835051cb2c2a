// Session: one open PKCS#11 session (C_OpenSession ... C_CloseSession), RAII.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <p11-kit/pkcs11.h>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/secret.h"
#include "medledger/hsm/module.h"

namespace medledger::hsm {

class Session {
 public:
  /// Calls C_OpenSession(CKF_SERIAL_SESSION | CKF_RW_SESSION) on `slot`. Errors
  /// carry the CKR_ name. One token round trip.
  static core::Result<Session> open(std::shared_ptr<Module> module, CK_SLOT_ID slot);

  /// Calls C_CloseSession (unless moved-from or released).
  ~Session();
  Session(Session&& other) noexcept;
  Session& operator=(Session&& other) noexcept;
  // A copy would close the session under its origin when either is destroyed.
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  CK_SESSION_HANDLE handle() const { return handle_; }
  CK_FUNCTION_LIST* fn() const { return module_->fn(); }
  const std::shared_ptr<Module>& module() const { return module_; }

  /// Calls C_Login(user_type, pin); CKR_USER_ALREADY_LOGGED_IN is success.
  /// PIN_INCORRECT / PIN_LOCKED / PIN_INVALID as the token says.
  core::Result<void> login(CK_USER_TYPE user_type, const core::SecretBytes& pin);

  /// Calls C_GetSessionInfo: true if the session is in a user state (already
  /// logged in through another session of this application).
  core::Result<bool> user_logged_in() const;

  /// Calls C_Logout; CKR_USER_NOT_LOGGED_IN is success.
  core::Result<void> logout();

  /// Calls C_FindObjectsInit / C_FindObjects (batches of kFindBatch) /
  /// C_FindObjectsFinal; at most `limit` handles.
  core::Result<std::vector<CK_OBJECT_HANDLE>> find_objects(std::vector<CK_ATTRIBUTE> match,
                                                           std::size_t limit) const;

  /// Calls C_GetAttributeValue twice (length, then value) for one attribute.
  /// kTokenError with the CKR_ name, e.g. CKR_ATTRIBUTE_SENSITIVE.
  core::Result<core::Bytes> attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;

  /// Reads a CK_BBOOL attribute with C_GetAttributeValue.
  core::Result<bool> bool_attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;

  /// Reads a CK_ULONG attribute (CKA_CLASS, CKA_KEY_TYPE...) with C_GetAttributeValue.
  core::Result<CK_ULONG> ulong_attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;

  /// Calls C_DestroyObject.
  core::Result<void> destroy(CK_OBJECT_HANDLE object);

  /// The CK_RV of the last call through this object that failed (CKR_OK if none
  /// since clear_failure()); SessionPool::with_retry classifies faults by it.
  CK_RV last_failure() const { return last_failure_; }
  void clear_failure() { last_failure_ = CKR_OK; }
  /// Records a failing CK_RV of a call made directly through fn() and returns
  /// token_error(call, rv, context).
  core::Error failure(std::string_view call, CK_RV rv, std::string_view context = {}) const;

  /// Forgets the handle without C_CloseSession (after C_Finalize every handle
  /// is already gone).
  void release() { handle_ = CK_INVALID_HANDLE; }

 private:
  Session(std::shared_ptr<Module> module, CK_SESSION_HANDLE handle);
  void close();

  std::shared_ptr<Module> module_;
  CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
  mutable CK_RV last_failure_ = CKR_OK;
};

}  // namespace medledger::hsm
