// MEDLEDGER_ASSERT: programmer errors, on in every build type.
//
// Operating errors (a bad request, a failing token, a full disk) are returned as
// Result errors; an assertion means the code itself is wrong, and continuing could
// damage the ledger, so it aborts with the location.
#pragma once

namespace medledger::core::detail {
[[noreturn]] void assertion_failed(const char* expression, const char* file, int line);
}

#define MEDLEDGER_ASSERT(expr)                                                           \
  do {                                                                                   \
    if (!(expr)) ::medledger::core::detail::assertion_failed(#expr, __FILE__, __LINE__); \
  } while (0)
