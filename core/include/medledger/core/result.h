// Result<T>: the value of an operation that can fail for a reason a user must read.
//
// Modelled on Bitcoin Core's util::Result. A Result holds either a value or an
// Error (a stable ErrorCode plus a human message). Use it like std::optional:
//
//     if (auto key = store.generate(spec)) use(*key);
//     else report(key.error());
//
// Every call that crosses a module boundary returns a Result; exceptions never
// do. Inside a function that itself returns a Result, pass failures on with
//
//     MEDLEDGER_TRY(store.put(entry));                        // Result<void>
//     MEDLEDGER_TRY_ASSIGN(auto key, store.generate(spec));   // declares key
//     MEDLEDGER_TRY_ASSIGN(entry.key, store.generate(spec));  // assigns
//
// instead of spelling `if (!r) return r.error();` out. Do NOT use it for low-level helpers that
// only need "worked or not" (return bool / std::optional there) or for programmer errors
// (MEDLEDGER_ASSERT).
#pragma once

#include <source_location>
#include <string>
#include <utility>
#include <variant>

#include "medledger/core/error.h"

namespace medledger::core {

namespace detail {
/// A Result read the wrong way (value of an error, error of a value): a programmer
/// error. Aborts naming the caller's file:line and, for a value read, the error held.
[[noreturn]] void result_misused(const char* what, const Error* held, std::source_location where);
}  // namespace detail

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value)
      : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  /// The value; calling it on an error is a programmer error and aborts with the
  /// caller's file:line (the operators, which cannot take a location, name the error).
  T& value(std::source_location where = std::source_location::current()) & {
    check_ok(where);
    return std::get<0>(state_);
  }
  const T& value(std::source_location where = std::source_location::current()) const& {
    check_ok(where);
    return std::get<0>(state_);
  }
  T&& value(std::source_location where = std::source_location::current()) && {
    check_ok(where);
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The error; calling it on a success is a programmer error and aborts.
  const Error& error(std::source_location where = std::source_location::current()) const {
    if (ok()) detail::result_misused("error() of a Result that holds a value", nullptr, where);
    return std::get<1>(state_);
  }

 private:
  void check_ok(std::source_location where) const {
    if (!ok()) {
      detail::result_misused("value() of a Result that holds an error", &std::get<1>(state_),
                             where);
    }
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
  const Error& error(std::source_location where = std::source_location::current()) const {
    if (!failed_) detail::result_misused("error() of a Result that succeeded", nullptr, where);
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

#define MEDLEDGER_RESULT_CONCAT_INNER(a, b) a##b
#define MEDLEDGER_RESULT_CONCAT(a, b) MEDLEDGER_RESULT_CONCAT_INNER(a, b)
#define MEDLEDGER_TRY_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp) return tmp.error();                   \
  lhs = std::move(*tmp)

/// Declares or assigns `lhs` from the value of `expr` (a Result), or returns its error
/// from the enclosing function: `MEDLEDGER_TRY_ASSIGN(auto cert, parse(pem));`. It
/// expands to several statements: use it as a statement of its own, in braces.
#define MEDLEDGER_TRY_ASSIGN(lhs, expr) \
  MEDLEDGER_TRY_ASSIGN_IMPL(MEDLEDGER_RESULT_CONCAT(medledger_try_assign_, __LINE__), lhs, expr)
