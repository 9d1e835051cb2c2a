// Control interface of the fault-injecting PKCS#11 module (medledger_fault_pkcs11).
//
// The module exports C_GetFunctionList like any PKCS#11 library. On first use it
// dlopens the real module named by MEDLEDGER_FAULT_TARGET (default: SoftHSM2),
// copies its function list and puts a forwarding wrapper in every entry, so a
// caller sees the real token unless a rule says a call must fail.
//
// Two ways to arm faults:
//  - in-process: dlopen the SAME path the code under test loads (the loader then
//    returns the same handle and therefore the same state) and dlsym the
//    functions below; the typedefs name their pointer types.
//  - across processes: MEDLEDGER_FAULT_RULES, read once when the module is
//    loaded, e.g. "C_Sign=CKR_DEVICE_ERROR:1,C_Login=CKR_USER_NOT_LOGGED_IN:1:2,
//    DEVICE_REMOVED" (see docs/testing.md for the grammar).
//
// All functions are thread-safe. This is test tooling: never ship it.
#pragma once

#include <p11-kit/pkcs11.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Fails the next `count` calls of `function_name` ("C_Sign", ...) with `rv`, after
/// letting `skip` calls through; count < 0 fails every call until cleared. Replaces
/// any earlier rule for that function. Returns 0, or -1 for an unknown name.
int medledger_fault_inject(const char* function_name, CK_RV rv, int count, int skip);

/// Simulates a pulled device while `removed` != 0: every call except the
/// library-level ones (C_Initialize, C_Finalize, C_GetInfo, C_GetFunctionList)
/// returns CKR_DEVICE_REMOVED without reaching the real module.
void medledger_fault_set_device_removed(int removed);

/// Removes every rule and leaves device-removed mode. Counters are kept.
void medledger_fault_clear(void);

/// How many times `function_name` was called through the module (forwarded or
/// failed) since load; 0 for an unknown name.
unsigned long medledger_fault_calls(const char* function_name);

/// How many of those calls were failed by a rule or by device-removed mode.
unsigned long medledger_fault_injected(const char* function_name);

typedef int (*medledger_fault_inject_fn)(const char*, CK_RV, int, int);
typedef void (*medledger_fault_set_device_removed_fn)(int);
typedef void (*medledger_fault_clear_fn)(void);
typedef unsigned long (*medledger_fault_count_fn)(const char*);

#ifdef __cplusplus
}
#endif
