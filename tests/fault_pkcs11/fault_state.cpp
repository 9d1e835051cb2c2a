#include "fault_state.h"

#include <charconv>
#include <cstdlib>
#include <utility>

namespace medledger::fault {

namespace {

constexpr std::string_view kFunctionNames[] = {
#define MEDLEDGER_FAULT_NAME(name) #name,
    MEDLEDGER_FAULT_FUNCTIONS(MEDLEDGER_FAULT_NAME)
#undef MEDLEDGER_FAULT_NAME
};
static_assert(std::size(kFunctionNames) == kFunctionCount);

// The return values a fault test plausibly wants; anything else can be given as a number.
constexpr std::pair<std::string_view, CK_RV> kReturnValueNames[] = {
    {"CKR_OK", CKR_OK},
    {"CKR_HOST_MEMORY", CKR_HOST_MEMORY},
    {"CKR_SLOT_ID_INVALID", CKR_SLOT_ID_INVALID},
    {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
    {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
    {"CKR_ARGUMENTS_BAD", CKR_ARGUMENTS_BAD},
    {"CKR_CANT_LOCK", CKR_CANT_LOCK},
    {"CKR_DATA_LEN_RANGE", CKR_DATA_LEN_RANGE},
    {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
    {"CKR_DEVICE_MEMORY", CKR_DEVICE_MEMORY},
    {"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
    {"CKR_FUNCTION_CANCELED", CKR_FUNCTION_CANCELED},
    {"CKR_KEY_HANDLE_INVALID", CKR_KEY_HANDLE_INVALID},
    {"CKR_MECHANISM_INVALID", CKR_MECHANISM_INVALID},
    {"CKR_OBJECT_HANDLE_INVALID", CKR_OBJECT_HANDLE_INVALID},
    {"CKR_OPERATION_ACTIVE", CKR_OPERATION_ACTIVE},
    {"CKR_OPERATION_NOT_INITIALIZED", CKR_OPERATION_NOT_INITIALIZED},
    {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
    {"CKR_PIN_LOCKED", CKR_PIN_LOCKED},
    {"CKR_SESSION_CLOSED", CKR_SESSION_CLOSED},
    {"CKR_SESSION_COUNT", CKR_SESSION_COUNT},
    {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
    {"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT},
    {"CKR_TOKEN_NOT_RECOGNIZED", CKR_TOKEN_NOT_RECOGNIZED},
    {"CKR_UNWRAPPING_KEY_HANDLE_INVALID", CKR_UNWRAPPING_KEY_HANDLE_INVALID},
    {"CKR_USER_ALREADY_LOGGED_IN", CKR_USER_ALREADY_LOGGED_IN},
    {"CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN},
    {"CKR_WRAPPED_KEY_INVALID", CKR_WRAPPED_KEY_INVALID},
    {"CKR_CRYPTOKI_NOT_INITIALIZED", CKR_CRYPTOKI_NOT_INITIALIZED},
    {"CKR_CRYPTOKI_ALREADY_INITIALIZED", CKR_CRYPTOKI_ALREADY_INITIALIZED},
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<int> parse_int(std::string_view text) {
  if (text == "*") return -1;  // "every call until cleared"
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// One rule: "C_Name=RV[:count[:skip]]" (count defaults to 1, skip to 0), or "DEVICE_REMOVED".
std::string apply_one_rule(FaultState& state, std::string_view rule) {
  if (rule == "DEVICE_REMOVED") {
    state.set_device_removed(true);
    return "";
  }
  auto equals = rule.find('=');
  if (equals == std::string_view::npos) return "rule without '=': " + std::string(rule);
  auto function = function_from_name(trim(rule.substr(0, equals)));
  if (!function) return "unknown PKCS#11 function in rule: " + std::string(rule);
  std::string_view rest = rule.substr(equals + 1);
  std::string_view fields[3] = {rest, "1", "0"};
  for (int field = 0; field < 2; ++field) {
    auto colon = fields[field].find(':');
    if (colon == std::string_view::npos) break;
    fields[field + 1] = fields[field].substr(colon + 1);
    fields[field] = fields[field].substr(0, colon);
  }
  auto rv = parse_return_value(trim(fields[0]));
  auto count = parse_int(trim(fields[1]));
  auto skip = parse_int(trim(fields[2]));
  if (!rv || !count || !skip || *skip < 0) return "malformed rule: " + std::string(rule);
  state.inject(*function, *rv, *count, *skip);
  return "";
}

}  // namespace

std::optional<Function> function_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kFunctionCount; ++i) {
    if (kFunctionNames[i] == name) return static_cast<Function>(i);
  }
  return std::nullopt;
}

bool is_library_level(Function function) {
  return function == Function::C_Initialize || function == Function::C_Finalize ||
         function == Function::C_GetInfo || function == Function::C_GetFunctionList;
}

std::optional<CK_RV> parse_return_value(std::string_view text) {
  for (const auto& [name, value] : kReturnValueNames) {
    if (name == text) return value;
  }
  unsigned long value = 0;
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return static_cast<CK_RV>(value);
}

std::optional<CK_RV> FaultState::intercept(Function function) {
  const std::size_t i = index(function);
  calls_[i].fetch_add(1);
  if (device_removed_.load() && !is_library_level(function)) {
    injected_[i].fetch_add(1);
    return CKR_DEVICE_REMOVED;
  }
  if (armed_rules_.load() == 0) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto& rule = rules_[i];
  if (!rule) return std::nullopt;
  if (rule->skip > 0) {
    --rule->skip;
    return std::nullopt;
  }
  const CK_RV rv = rule->rv;
  if (rule->remaining > 0 && --rule->remaining == 0) {
    rule.reset();
    armed_rules_.fetch_sub(1);
  }
  injected_[i].fetch_add(1);
  return rv;
}

void FaultState::inject(Function function, CK_RV rv, int count, int skip) {
  std::lock_guard lock(mutex_);
  auto& rule = rules_[index(function)];
  if (rule) armed_rules_.fetch_sub(1);
  rule.reset();
  if (count == 0) return;  // "fail nothing": same as removing the rule
  rule = Rule{rv, count, skip};
  armed_rules_.fetch_add(1);
}

void FaultState::clear() {
  std::lock_guard lock(mutex_);
  for (auto& rule : rules_) rule.reset();
  armed_rules_.store(0);
  device_removed_.store(false);
}

std::string FaultState::apply_rules(std::string_view rules) {
  while (!rules.empty()) {
    auto comma = rules.find(',');
    std::string_view rule = trim(rules.substr(0, comma));
    rules = comma == std::string_view::npos ? std::string_view{} : rules.substr(comma + 1);
    if (rule.empty()) continue;
    if (auto error = apply_one_rule(*this, rule); !error.empty()) return error;
  }
  return "";
}

namespace {
struct LoadedState {
  FaultState state;
  std::string error;
  LoadedState() {
    if (const char* rules = std::getenv("MEDLEDGER_FAULT_RULES")) error = state.apply_rules(rules);
  }
};
LoadedState& loaded_state() {
  static LoadedState loaded;
  return loaded;
}
}  // namespace

FaultState& fault_state() { return loaded_state().state; }
const std::string& rules_error() { return loaded_state().error; }

}  // namespace medledger::fault
