#include "medledger/hsm/session.h"

#include "medledger/hsm/limits.h"
#include "medledger/hsm/pkcs11_error.h"

namespace medledger::hsm {

core::Result<Session> Session::open(std::shared_ptr<Module> module, CK_SLOT_ID slot) {
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  CK_RV rv = module->fn()->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                                         nullptr, &handle);
  if (rv == CKR_SLOT_ID_INVALID) {
    // The slot was listed moments ago: it went away (device removed, or the module was
    // finalised: NSS says this rather than CKR_CRYPTOKI_NOT_INITIALIZED). A device fault:
    // a pool re-initialises the module and finds its token again.
    return core::make_error(core::ErrorCode::kTokenUnavailable,
                            token_error("C_OpenSession", rv).message);
  }
  if (rv != CKR_OK) return token_error("C_OpenSession", rv);
  return Session(std::move(module), handle);
}

Session::Session(std::shared_ptr<Module> module, CK_SESSION_HANDLE handle)
    : module_(std::move(module)), handle_(handle) {}

Session::~Session() { close(); }

Session::Session(Session&& other) noexcept
    : module_(std::move(other.module_)), handle_(other.handle_) {
  other.handle_ = CK_INVALID_HANDLE;
}

Session& Session::operator=(Session&& other) noexcept {
  if (this != &other) {
    close();
    module_ = std::move(other.module_);
    handle_ = other.handle_;
    other.handle_ = CK_INVALID_HANDLE;
  }
  return *this;
}

core::Error Session::failure(std::string_view call, CK_RV rv, std::string_view context) const {
  last_failure_ = rv;
  return token_error(call, rv, context);
}

void Session::close() {
  if (handle_ != CK_INVALID_HANDLE && module_) module_->fn()->C_CloseSession(handle_);
  handle_ = CK_INVALID_HANDLE;
}

core::Result<void> Session::login(CK_USER_TYPE user_type, const core::SecretBytes& pin) {
  // PKCS#11 takes a non-const pointer but does not write through it.
  CK_RV rv = fn()->C_Login(handle_, user_type, const_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) return core::success();
  const char* who = user_type == CKU_SO ? "the SO PIN" : "the user PIN";
  std::string why = rv == CKR_PIN_INCORRECT ? std::string(who) + " was rejected"
                    : rv == CKR_PIN_LOCKED  ? std::string(who) + " is locked"
                                            : std::string("login with ") + who + " failed";
  return failure("C_Login", rv, why);
}

core::Result<bool> Session::user_logged_in() const {
  CK_SESSION_INFO info{};
  CK_RV rv = fn()->C_GetSessionInfo(handle_, &info);
  if (rv != CKR_OK) return failure("C_GetSessionInfo", rv);
  return info.state == CKS_RW_USER_FUNCTIONS || info.state == CKS_RO_USER_FUNCTIONS;
}

core::Result<void> Session::logout() {
  CK_RV rv = fn()->C_Logout(handle_);
  if (rv == CKR_OK || rv == CKR_USER_NOT_LOGGED_IN) return core::success();
  return failure("C_Logout", rv);
}

core::Result<std::vector<CK_OBJECT_HANDLE>> Session::find_objects(std::vector<CK_ATTRIBUTE> match,
                                                                  std::size_t limit) const {
  CK_RV rv = fn()->C_FindObjectsInit(handle_, match.data(), match.size());
  if (rv != CKR_OK) return failure("C_FindObjectsInit", rv);
  std::vector<CK_OBJECT_HANDLE> found;
  CK_OBJECT_HANDLE batch[kFindBatch];
  while (found.size() < limit) {
    CK_ULONG count = 0;
    rv = fn()->C_FindObjects(handle_, batch, kFindBatch, &count);
    if (rv != CKR_OK) break;
    if (count == 0) break;
    for (CK_ULONG i = 0; i < count && found.size() < limit; ++i) found.push_back(batch[i]);
  }
  CK_RV final_rv =
      fn()->C_FindObjectsFinal(handle_);  // always, so the session is not left mid-search
  if (rv != CKR_OK) return failure("C_FindObjects", rv);
  if (final_rv != CKR_OK) return failure("C_FindObjectsFinal", final_rv);
  return found;
}

core::Result<core::Bytes> Session::attribute(CK_OBJECT_HANDLE object,
                                             CK_ATTRIBUTE_TYPE type) const {
  CK_ATTRIBUTE attr{type, nullptr, 0};
  CK_RV rv = fn()->C_GetAttributeValue(handle_, object, &attr, 1);
  if (rv != CKR_OK) return failure("C_GetAttributeValue", rv);
  if (attr.ulValueLen == CK_UNAVAILABLE_INFORMATION)
    return failure("C_GetAttributeValue", CKR_ATTRIBUTE_SENSITIVE);
  core::Bytes value(attr.ulValueLen);
  attr.pValue = value.data();
  rv = fn()->C_GetAttributeValue(handle_, object, &attr, 1);
  if (rv != CKR_OK) return failure("C_GetAttributeValue", rv);
  value.resize(attr.ulValueLen);
  return value;
}

core::Result<bool> Session::bool_attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const {
  CK_BBOOL value = CK_FALSE;
  CK_ATTRIBUTE attr{type, &value, sizeof value};
  CK_RV rv = fn()->C_GetAttributeValue(handle_, object, &attr, 1);
  if (rv != CKR_OK) return failure("C_GetAttributeValue", rv);
  return value == CK_TRUE;
}

core::Result<CK_ULONG> Session::ulong_attribute(CK_OBJECT_HANDLE object,
                                                CK_ATTRIBUTE_TYPE type) const {
  CK_ULONG value = 0;
  CK_ATTRIBUTE attr{type, &value, sizeof value};
  CK_RV rv = fn()->C_GetAttributeValue(handle_, object, &attr, 1);
  if (rv != CKR_OK) return failure("C_GetAttributeValue", rv);
  return value;
}

core::Result<void> Session::destroy(CK_OBJECT_HANDLE object) {
  CK_RV rv = fn()->C_DestroyObject(handle_, object);
  if (rv != CKR_OK) return failure("C_DestroyObject", rv);
  return core::success();
}

}  // namespace medledger::hsm
