#include "medledger/hsm/module.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

#include "medledger/hsm/pkcs11_error.h"

namespace medledger::hsm {

namespace {
CK_C_INITIALIZE_ARGS os_locking_args() {
  CK_C_INITIALIZE_ARGS args{};
  // Threads of this process share the module: let it use the OS's own locks.
  args.flags = CKF_OS_LOCKING_OK;
  return args;
}
}  // namespace

std::string resolve_module_path(const std::string& explicit_path) {
  if (!explicit_path.empty()) return explicit_path;
  if (const char* env = std::getenv("MEDLEDGER_PKCS11_MODULE"); env != nullptr && *env != '\0')
    return env;
  return kDefaultModulePath;
}

core::Result<std::shared_ptr<Module>> Module::load(const std::string& path) {
  using core::ErrorCode;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return core::make_error(ErrorCode::kModuleLoadFailed,
                            "PKCS#11 module '" + path + "' does not exist");
  }
  // RTLD_LOCAL keeps one module's symbols from resolving another's.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return core::make_error(
        ErrorCode::kModuleLoadFailed,
        "cannot load PKCS#11 module '" + path + "': " + (why != nullptr ? why : "dlopen failed"));
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  if (get_list == nullptr) {
    ::dlclose(handle);
    return core::make_error(ErrorCode::kModuleLoadFailed,
                            "'" + path + "' is not a PKCS#11 module (no C_GetFunctionList)");
  }
  CK_FUNCTION_LIST* functions = nullptr;
  CK_RV rv = get_list(&functions);
  if (rv != CKR_OK || functions == nullptr) {
    ::dlclose(handle);
    auto err = token_error("C_GetFunctionList", rv, "'" + path + "' gave no function list");
    return core::make_error(ErrorCode::kModuleLoadFailed, err.message);
  }
  std::shared_ptr<Module> module(new Module(path, handle, functions));
  MEDLEDGER_TRY(module->initialize());
  return module;
}

Module::Module(std::string path, void* handle, CK_FUNCTION_LIST* functions)
    : path_(std::move(path)), handle_(handle), functions_(functions) {}

core::Result<void> Module::initialize() {
  CK_C_INITIALIZE_ARGS args = os_locking_args();
  CK_RV rv = functions_->C_Initialize(&args);
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
    return core::success();  // someone else in this process owns it
  if (rv != CKR_OK) {
    auto err = token_error("C_Initialize", rv, "PKCS#11 module '" + path_ + "' failed to start");
    return core::make_error(core::ErrorCode::kModuleInitFailed, err.message);
  }
  initialized_by_us_ = true;
  return core::success();
}

Module::~Module() {
  if (initialized_by_us_) functions_->C_Finalize(nullptr);
  if (handle_ != nullptr) ::dlclose(handle_);
}

core::Result<void> Module::reinitialize() {
  std::lock_guard lock(reinit_mutex_);
  functions_->C_Finalize(nullptr);  // its result does not matter: the module may already be broken
  initialized_by_us_ = false;
  ++generation_;
  return initialize();
}

}  // namespace medledger::hsm
