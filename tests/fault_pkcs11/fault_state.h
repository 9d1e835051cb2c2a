// The armed faults and call counters, shared by every thread that calls the module.
#pragma once

#include <p11-kit/pkcs11.h>

#include <array>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "fault_functions.h"

namespace medledger::fault {

/// Parses a CKR_ name ("CKR_DEVICE_ERROR") or a number ("0x30", "48").
std::optional<CK_RV> parse_return_value(std::string_view text);

class FaultState {
 public:
  /// The value a call must return instead of reaching the real module, if any.
  /// Counts the call either way. Cost: two atomic increments, a lock only when armed.
  std::optional<CK_RV> intercept(Function function);

  /// Fails the next `count` calls (count < 0: all) after `skip`, returning `rv`.
  void inject(Function function, CK_RV rv, int count, int skip);
  void set_device_removed(bool removed) { device_removed_.store(removed); }
  void clear();

  /// Applies MEDLEDGER_FAULT_RULES-style text; returns an error message or "".
  std::string apply_rules(std::string_view rules);

  unsigned long calls(Function function) const { return calls_[index(function)].load(); }
  unsigned long injected(Function function) const { return injected_[index(function)].load(); }

 private:
  struct Rule {
    CK_RV rv = CKR_OK;
    int remaining = 0;  // < 0: until cleared
    int skip = 0;
  };
  static std::size_t index(Function function) { return static_cast<std::size_t>(function); }

  std::atomic<bool> device_removed_{false};
  std::atomic<int> armed_rules_{0};  // lets unarmed calls skip the mutex
  std::mutex mutex_;
  std::array<std::optional<Rule>, kFunctionCount> rules_{};
  std::array<std::atomic<unsigned long>, kFunctionCount> calls_{};
  std::array<std::atomic<unsigned long>, kFunctionCount> injected_{};
};

/// The one state of this loaded module (initialised from MEDLEDGER_FAULT_RULES).
FaultState& fault_state();

/// The error met while parsing MEDLEDGER_FAULT_RULES at load, or "".
const std::string& rules_error();

}  // namespace medledger::fault
