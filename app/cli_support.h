// What every command family shares: turning a Result into output and an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include "medledger/core/result.h"

namespace medledger::app {

/// Prints "medledger: <CODE>: <message>" to stderr and ends the command with the
/// error's stable exit code (docs/errors.md).
[[noreturn]] void fail(const core::Error& error);

/// Returns the value or fails with its error.
template <typename T>
T require(core::Result<T> result) {
  if (!result) fail(result.error());
  return std::move(*result);
}
inline void require(core::Result<void> result) {
  if (!result) fail(result.error());
}

}  // namespace medledger::app
