#include "medledger/core/assert.h"
#include "medledger/core/result.h"

#include <cstdio>
#include <cstdlib>

namespace medledger::core::detail {

void assertion_failed(const char* expression, const char* file, int line) {
  std::fprintf(stderr, "medledger: assertion failed: %s (%s:%d)\n", expression, file, line);
  std::abort();
}

void result_misused(const char* what, const Error* held, std::source_location where) {
  if (held != nullptr) {
    const std::string_view code = error_code_name(held->code);
    std::fprintf(stderr, "medledger: %s (%s:%u): %.*s: %s\n", what, where.file_name(),
                 static_cast<unsigned>(where.line()), static_cast<int>(code.size()), code.data(),
                 held->message.c_str());
  } else {
    std::fprintf(stderr, "medledger: %s (%s:%u)\n", what, where.file_name(),
                 static_cast<unsigned>(where.line()));
  }
  std::abort();
}

}  // namespace medledger::core::detail
