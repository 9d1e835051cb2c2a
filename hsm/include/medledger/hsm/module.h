// Module: one loaded PKCS#11 library (dlopen + C_GetFunctionList + C_Initialize).
//
// Shared by every Token, Session and SessionPool through std::shared_ptr; the last
// owner calls C_Finalize and dlclose. Any vendor's module is loaded by path: the
// module only speaks PKCS#11 2.40 and treats SoftHSM2 like any other token.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <p11-kit/pkcs11.h>

#include "medledger/core/result.h"
#include "medledger/core/secret.h"

namespace medledger::hsm {

/// Default module when neither --module nor MEDLEDGER_PKCS11_MODULE is given.
inline constexpr const char* kDefaultModulePath = "/usr/lib/softhsm/libsofthsm2.so";
/// The variable holding a module's initialisation arguments (the string itself).
inline constexpr const char* kModuleArgsEnvironment = "MEDLEDGER_PKCS11_MODULE_ARGS";
/// Longest initialisation argument string accepted (NSS's are a few hundred bytes).
inline constexpr std::size_t kMaxModuleArgs = 4096;

class Module : public std::enable_shared_from_this<Module> {
 public:
  /// dlopen()s `path`, calls C_GetFunctionList and C_Initialize(CKF_OS_LOCKING_OK;
  /// CKR_CRYPTOKI_ALREADY_INITIALIZED counts as success). A missing file or a
  /// library without C_GetFunctionList is kModuleLoadFailed; a failing C_Initialize
  /// is kModuleInitFailed. Cost: loading a shared library, module start-up.
  /// The initialisation arguments are module_args_from_environment() (none unless
  /// $MEDLEDGER_PKCS11_MODULE_ARGS is set), as load(path, args) passes them.
  static core::Result<std::shared_ptr<Module>> load(const std::string& path);
  /// The same, passing `init_args` as CK_C_INITIALIZE_ARGS.pReserved (a NUL-terminated
  /// string: NSS's softoken reads its database settings there, "configdir='sql:DIR'
  /// certPrefix='' keyPrefix='' secmod='secmod.db'"). Empty args pass NULL, as load(path).
  /// The arguments may hold a password: they are kept wiped-on-destruction for
  /// reinitialize() and never appear in a message. Over kMaxModuleArgs bytes or with a
  /// NUL byte is kInvalidArgument.
  static core::Result<std::shared_ptr<Module>> load(const std::string& path,
                                                    const core::SecretBytes& init_args);

  /// Calls C_Finalize (if this object initialised the module) and dlclose.
  ~Module();
  // Copies would finalise and unload the library under the original.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The module's function list; valid for the lifetime of this object.
  CK_FUNCTION_LIST* fn() const { return functions_; }
  const std::string& path() const { return path_; }
  /// A new owner of this module (for code handed a `const Module&`).
  std::shared_ptr<Module> share() const {
    return std::const_pointer_cast<Module>(shared_from_this());
  }

  /// Calls C_Finalize then C_Initialize: every session and object handle of this
  /// module becomes invalid. Used by SessionPool after a device-class fault.
  /// Returns kModuleInitFailed if C_Initialize fails. Thread-safe.
  core::Result<void> reinitialize();

  /// Counts reinitialize() calls. Handles obtained under an older generation are
  /// stale; pools compare this before trusting their caches. Thread-safe.
  std::uint64_t generation() const { return generation_.load(); }

 private:
  Module(std::string path, void* handle, CK_FUNCTION_LIST* functions, core::SecretBytes init_args);
  core::Result<void> initialize();

  std::string path_;
  core::SecretBytes init_args_;  // NUL-terminated when not empty
  void* handle_ = nullptr;
  CK_FUNCTION_LIST* functions_ = nullptr;
  bool initialized_by_us_ = false;
  std::mutex reinit_mutex_;
  std::atomic<std::uint64_t> generation_{0};
};

/// The module path to use: `explicit_path` if not empty, else the environment
/// variable MEDLEDGER_PKCS11_MODULE, else kDefaultModulePath.
std::string resolve_module_path(const std::string& explicit_path);

/// The module's initialisation arguments from $MEDLEDGER_PKCS11_MODULE_ARGS, empty
/// when the variable is unset or empty.
core::SecretBytes module_args_from_environment();

}  // namespace medledger::hsm
