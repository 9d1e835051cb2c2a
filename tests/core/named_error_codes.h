// Every ErrorCode that has a name, found by probing the enum's range: the tests over
// all codes (unique names and exits, names that read back, docs/errors.md) walk this.
#pragma once

#include <vector>

#include "medledger/core/error.h"

namespace medledger::testing {

inline std::vector<core::ErrorCode> named_error_codes() {
  std::vector<core::ErrorCode> codes;
  for (int raw = 0; raw < 1000; ++raw) {
    auto code = static_cast<core::ErrorCode>(raw);
    if (core::error_code_name(code) != "UNKNOWN") codes.push_back(code);
  }
  return codes;
}

}  // namespace medledger::testing
