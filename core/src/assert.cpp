#include "medledger/core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace medledger::core::detail {

void assertion_failed(const char* expression, const char* file, int line) {
  std::fprintf(stderr, "medledger: assertion failed: %s (%s:%d)\n", expression, file, line);
  std::abort();
}

}  // namespace medledger::core::detail
