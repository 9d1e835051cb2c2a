#include "medledger/hsm/module.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
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

core::Result<core::SecretBytes> terminated_args(const core::SecretBytes& init_args) {
  if (init_args.empty()) return core::SecretBytes();
  if (init_args.size() > kMaxModuleArgs) {
    return core::make_error(core::ErrorCode::kInvalidArgument,
                            "module initialisation arguments are longer than " +
                                std::to_string(kMaxModuleArgs) + " bytes");
  }
  auto view = init_args.view();
  if (std::find(view.begin(), view.end(), 0) != view.end()) {
    return core::make_error(core::ErrorCode::kInvalidArgument,
                            "module initialisation arguments contain a NUL byte");
  }
  core::SecretBytes terminated(init_args.size() + 1);  // zero-filled: the last byte is the NUL
  std::copy(view.begin(), view.end(), terminated.data());
  return terminated;
}
}  // namespace

core::SecretBytes module_args_from_environment() {
  const char* env = std::getenv(kModuleArgsEnvironment);
  if (env == nullptr) return core::SecretBytes();
  return core::SecretBytes(
      core::ByteView(reinterpret_cast<const std::uint8_t*>(env), std::strlen(env)));
}

std::string resolve_module_path(const std::string& explicit_path) {
  if (!explicit_path.empty()) return explicit_path;
  if (const char* env = std::getenv("MEDLEDGER_PKCS11_MODULE"); env != nullptr && *env != '\0')
    return env;
  return kDefaultModulePath;
}

core::Result<std::shared_ptr<Module>> Module::load(const std::string& path) {
  return load(path, module_args_from_environment());
}

core::Result<std::shared_ptr<Module>> Module::load(const std::string& path,
                                                   const core::SecretBytes& init_args) {
  using core::ErrorCode;
  MEDLEDGER_TRY_ASSIGN(auto args, terminated_args(init_args));
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
  std::shared_ptr<Module> module(new Module(path, handle, functions, std::move(args)));
  MEDLEDGER_TRY(module->initialize());
  return module;
}

Module::Module(std::string path, void* handle, CK_FUNCTION_LIST* functions,
               core::SecretBytes init_args)
    : path_(std::move(path)),
      init_args_(std::move(init_args)),
      handle_(handle),
      functions_(functions) {}

core::Result<void> Module::initialize() {
  CK_C_INITIALIZE_ARGS args = os_locking_args();
  if (!init_args_.empty()) args.pReserved = init_args_.data();
  CK_RV rv = functions_->C_Initialize(&args);
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
    return core::success();  // someone else in this process owns it
  if (rv != CKR_OK) {
    // Never the arguments themselves: they may hold a password.
    auto err = token_error("C_Initialize", rv,
                           "PKCS#11 module '" + path_ + "' failed to start" +
                               (init_args_.empty() ? std::string(" (no initialisation arguments)")
                                                   : std::string(" with its initialisation "
                                                                 "arguments (not shown)")));
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
