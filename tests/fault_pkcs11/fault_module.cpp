// The fault-injecting PKCS#11 module: forwards every call to the real module and
// fails the calls that fault_state() says must fail. See fault_control.h.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "fault_control.h"
#include "fault_state.h"

#define MEDLEDGER_FAULT_EXPORT extern "C" __attribute__((visibility("default")))

namespace medledger::fault {
namespace {

constexpr const char* kDefaultTarget = "/usr/lib/softhsm/libsofthsm2.so";

// The real module's list, and ours: a copy with every entry replaced by a wrapper.
CK_FUNCTION_LIST* real_list = nullptr;
CK_FUNCTION_LIST wrapped_list{};

// Forwarder<type of a list entry>::call<entry, index> has exactly that entry's
// signature, so one template makes all 68 wrappers.
template <typename Entry>
struct Forwarder;

template <typename... Args>
struct Forwarder<CK_RV (*)(Args...)> {
  template <CK_RV (*CK_FUNCTION_LIST::*entry)(Args...), Function function>
  static CK_RV call(Args... args) {
    if (auto injected = fault_state().intercept(function)) return *injected;
    return (real_list->*entry)(args...);
  }
};

// Loads the target once; later calls return the same outcome.
CK_RV load_target() {
  static std::once_flag once;
  static CK_RV outcome = CKR_GENERAL_ERROR;
  std::call_once(once, [] {
    if (!rules_error().empty()) {
      std::fprintf(stderr, "medledger_fault_pkcs11: MEDLEDGER_FAULT_RULES: %s\n",
                   rules_error().c_str());
      return;
    }
    const char* target = std::getenv("MEDLEDGER_FAULT_TARGET");
    if (target == nullptr || *target == '\0') target = kDefaultTarget;
    // Never dlclosed: the wrappers point into it for the life of this module.
    void* handle = ::dlopen(target, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      std::fprintf(stderr, "medledger_fault_pkcs11: cannot load %s: %s\n", target, ::dlerror());
      return;
    }
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
    if (get_list == nullptr || get_list(&real_list) != CKR_OK || real_list == nullptr) {
      std::fprintf(stderr, "medledger_fault_pkcs11: %s has no usable C_GetFunctionList\n", target);
      return;
    }
    wrapped_list = *real_list;
#define MEDLEDGER_FAULT_WRAP(name) \
  wrapped_list.name =              \
      &Forwarder<decltype(CK_FUNCTION_LIST::name)>::call<&CK_FUNCTION_LIST::name, Function::name>;
    MEDLEDGER_FAULT_FUNCTIONS(MEDLEDGER_FAULT_WRAP)
#undef MEDLEDGER_FAULT_WRAP
    wrapped_list.C_GetFunctionList = &::C_GetFunctionList;
    outcome = CKR_OK;
  });
  return outcome;
}

}  // namespace
}  // namespace medledger::fault

using medledger::fault::fault_state;
using medledger::fault::function_from_name;

MEDLEDGER_FAULT_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST** function_list) {
  if (function_list == nullptr) return CKR_ARGUMENTS_BAD;
  if (auto injected = fault_state().intercept(medledger::fault::Function::C_GetFunctionList))
    return *injected;
  CK_RV rv = medledger::fault::load_target();
  if (rv != CKR_OK) return rv;
  *function_list = &medledger::fault::wrapped_list;
  return CKR_OK;
}

MEDLEDGER_FAULT_EXPORT int medledger_fault_inject(const char* function_name, CK_RV rv, int count,
                                                  int skip) {
  if (function_name == nullptr || skip < 0) return -1;
  auto function = function_from_name(function_name);
  if (!function) return -1;
  fault_state().inject(*function, rv, count, skip);
  return 0;
}

MEDLEDGER_FAULT_EXPORT void medledger_fault_set_device_removed(int removed) {
  fault_state().set_device_removed(removed != 0);
}

MEDLEDGER_FAULT_EXPORT void medledger_fault_clear(void) { fault_state().clear(); }

MEDLEDGER_FAULT_EXPORT unsigned long medledger_fault_calls(const char* function_name) {
  auto function = function_name != nullptr ? function_from_name(function_name) : std::nullopt;
  return function ? fault_state().calls(*function) : 0;
}

MEDLEDGER_FAULT_EXPORT unsigned long medledger_fault_injected(const char* function_name) {
  auto function = function_name != nullptr ? function_from_name(function_name) : std::nullopt;
  return function ? fault_state().injected(*function) : 0;
}
