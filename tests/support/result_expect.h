// Unwrapping core::Result in tests: a failure reports the error's code and text.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "medledger/core/result.h"
#include "medledger/core/secret.h"

namespace medledger::testing {

inline core::SecretBytes secret(const std::string& text) {
  return core::SecretBytes(core::to_bytes(text));
}

/// The value of a Result; a failed Result fails the test and stops it.
template <typename T>
T expect_ok(core::Result<T> result) {
  if (!result) {
    ADD_FAILURE() << result.error().to_string();
    std::abort();
  }
  return std::move(*result);
}

inline void expect_ok(core::Result<void> result) {
  if (!result) {
    ADD_FAILURE() << result.error().to_string();
    std::abort();
  }
}

}  // namespace medledger::testing
