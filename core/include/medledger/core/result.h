// Result<T>: the value of an operation that can fail for a reason a user must read.
//
// Modelled on Bitcoin Core's util::Result. A Result holds either a value or an
// Error (a stable ErrorCode plus a human message). Use it like std::optional:
//
//     if (auto key = store.generate(spec)) use(*key);
//     else report(key.error());
//
// Every call that crosses a module boundary returns a Result; exceptions never
// do. Do NOT use it for low-level helpers that only need "worked or not"
// (return bool / std::optional there) or for programmer errors (MEDLEDGER_ASSERT).
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

#include "medledger/core/error.h"

namespace medledger::core {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value)
      : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  /// The value; calling it on an error is a programmer error and aborts.
  T& value() & {
    check_ok();
    return std::get<0>(state_);
  }
  const T& value() const& {
    check_ok();
    return std::get<0>(state_);
  }
  T&& value() && {
    check_ok();
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The error; calling it on a success is a programmer error and aborts.
  const Error& error() const {
    if (ok()) std::abort();
    return std::get<1>(state_);
  }

 private:
  void check_ok() const {
    if (!ok()) std::abort();
  }
  std::variant<T, Error> state_;
};

/// Result of an operation that has no value: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    if (!failed_) std::abort();
    return error_;
  }

 private:
  Error error_{};
  bool failed_ = false;
};

/// Success value for Result<void>.
inline Result<void> success() { return {}; }

}  // namespace medledger::core

/// Returns the error of `expr` (a Result) from the enclosing function if it failed.
#define MEDLEDGER_TRY(expr)                                           \
  do {                                                                \
    auto&& medledger_try_result_ = (expr);                            \
    if (!medledger_try_result_) return medledger_try_result_.error(); \
  } while (0)
