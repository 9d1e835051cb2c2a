#include "medledger/node/pin_verifier.h"

#include <algorithm>

#include <openssl/evp.h>

#include "crypto_primitives.h"
#include "json_fields.h"
#include "medledger/core/assert.h"
#include "medledger/core/canonical_json.h"
#include "medledger/core/openssl.h"

namespace medledger::node {

namespace {
using core::ErrorCode;

constexpr std::string_view kScrypt = "scrypt";
constexpr std::string_view kActive = "active";
constexpr std::string_view kLocked = "locked";
// OpenSSL counts a little more than 128 * N * r (the B buffer, p * 128 * r); the
// margin covers it for every accepted p and r.
constexpr std::uint64_t kScryptMemoryMargin = std::uint64_t{1} << 20;

bool params_accepted(const ScryptParams& params) {
  if (params.log2_n < kMinScryptLogN || params.log2_n > kMaxScryptLogN) return false;
  if (params.r < 1 || params.r > kMaxScryptR || params.p < 1 || params.p > kMaxScryptP)
    return false;
  return std::uint64_t{128} * (std::uint64_t{1} << params.log2_n) * params.r <= kMaxScryptMemory;
}

core::Result<core::Bytes> scrypt(const core::SecretBytes& pin, core::ByteView salt,
                                 const ScryptParams& params) {
  core::Bytes out(kPinHashSize);
  if (EVP_PBE_scrypt(reinterpret_cast<const char*>(pin.data()), pin.size(), salt.data(),
                     salt.size(), std::uint64_t{1} << params.log2_n, params.r, params.p,
                     kMaxScryptMemory + kScryptMemoryMargin, out.data(), out.size()) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "scrypt");
  }
  return out;
}

std::int64_t backoff_seconds(std::uint32_t failures) {
  if (failures < kPinBackoffAfterFailures) return 0;
  const std::uint32_t doublings = std::min<std::uint32_t>(failures - kPinBackoffAfterFailures, 30);
  return std::min<std::int64_t>(std::int64_t{1} << doublings, kMaxPinBackoffSeconds);
}

core::Result<PinRecord> from_object(const boost::json::object& object) {
  MEDLEDGER_TRY(detail::require_exactly(object,
                                        {"format", "person_id", "kdf", "log2_n", "r", "p", "salt",
                                         "hash", "state", "failures", "last_failure"},
                                        "a PIN record"));
  MEDLEDGER_TRY_ASSIGN(auto format, detail::string_field(object, "format"));
  MEDLEDGER_TRY_ASSIGN(auto kdf, detail::string_field(object, "kdf"));
  if (format != kPinRecordFormat || kdf != kScrypt) {
    return core::make_error(ErrorCode::kMalformedEncoding, "not a medledger-pin-v1 scrypt record");
  }
  PinRecord out;
  MEDLEDGER_TRY_ASSIGN(auto person, detail::string_field(object, "person_id"));
  if (!detail::valid_identifier(person)) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "field 'person_id' is not a valid identifier");
  }
  out.person_id = std::move(person);
  MEDLEDGER_TRY_ASSIGN(auto log2_n, detail::integer_field(object, "log2_n"));
  MEDLEDGER_TRY_ASSIGN(auto r, detail::integer_field(object, "r"));
  MEDLEDGER_TRY_ASSIGN(auto p, detail::integer_field(object, "p"));
  if (log2_n > kMaxScryptLogN || r > kMaxScryptR || p > kMaxScryptP) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "scrypt parameters outside the accepted bounds");
  }
  out.params = ScryptParams{static_cast<unsigned>(log2_n), static_cast<std::uint32_t>(r),
                            static_cast<std::uint32_t>(p)};
  if (!params_accepted(out.params)) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "scrypt parameters outside the accepted bounds");
  }
  auto salt = detail::bytes_field(object, "salt", kPinSaltSize);
  if (!salt) return salt.error();
  out.salt = std::move(*salt);
  auto hash = detail::bytes_field(object, "hash", kPinHashSize);
  if (!hash) return hash.error();
  out.hash = std::move(*hash);
  auto state = detail::string_field(object, "state");
  if (!state) return state.error();
  if (*state != kActive && *state != kLocked) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "field 'state' is neither 'active' nor 'locked'");
  }
  out.state = *state == kLocked ? PinState::kLocked : PinState::kActive;
  auto failures = detail::integer_field(object, "failures");
  if (!failures) return failures.error();
  if (*failures > kMaxPinFailuresCeiling) {
    return core::make_error(ErrorCode::kMalformedEncoding, "field 'failures' is over the ceiling");
  }
  out.failures = static_cast<std::uint32_t>(*failures);
  MEDLEDGER_TRY_ASSIGN(auto last, detail::integer_field(object, "last_failure"));
  out.last_failure_unix = static_cast<std::int64_t>(last);
  return out;
}
}  // namespace

std::string PinRecord::to_json_text() const {
  boost::json::object out;
  out["format"] = kPinRecordFormat;
  out["person_id"] = person_id;
  out["kdf"] = kScrypt;
  out["log2_n"] = static_cast<std::int64_t>(params.log2_n);
  out["r"] = static_cast<std::int64_t>(params.r);
  out["p"] = static_cast<std::int64_t>(params.p);
  out["salt"] = core::base64url_encode(salt);
  out["hash"] = core::base64url_encode(hash);
  out["state"] = state == PinState::kLocked ? kLocked : kActive;
  out["failures"] = static_cast<std::int64_t>(failures);
  out["last_failure"] = std::max<std::int64_t>(last_failure_unix, 0);
  return core::canonicalize(out);
}

core::Result<PinRecord> PinRecord::from_json_text(std::string_view text) {
  MEDLEDGER_TRY_ASSIGN(auto value, core::parse_restricted_json(text, kMaxPinRecordJson));
  if (!value.is_object())
    return core::make_error(ErrorCode::kMalformedEncoding, "a PIN record is an object");
  return from_object(value.get_object());
}

core::Result<PinRecord> make_pin_record(std::string person_id, const core::SecretBytes& pin,
                                        const ScryptParams& params) {
  MEDLEDGER_TRY(detail::require_identifier("a person id", person_id));
  if (pin.size() < kMinPinBytes || pin.size() > kMaxPinBytes) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "a PIN must be " + std::to_string(kMinPinBytes) + "-" +
                                std::to_string(kMaxPinBytes) + " bytes long");
  }
  if (!params_accepted(params)) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "scrypt parameters outside the accepted bounds");
  }
  PinRecord out;
  out.person_id = std::move(person_id);
  out.params = params;
  auto salt = detail::random_bytes(kPinSaltSize);
  if (!salt) return salt.error();
  out.salt = std::move(*salt);
  auto hash = scrypt(pin, out.salt, params);
  if (!hash) return hash.error();
  out.hash = std::move(*hash);
  return out;
}

PinAttempt check_pin(const PinRecord& record, const core::SecretBytes& pin, std::int64_t now_unix,
                     const PinPolicy& policy) {
  const std::uint32_t max_failures =
      std::clamp<std::uint32_t>(policy.max_failures, 1, kMaxPinFailuresCeiling);
  PinAttempt attempt{record, core::success()};
  if (record.state == PinState::kLocked || record.failures >= max_failures) {
    attempt.next.state = PinState::kLocked;
    attempt.outcome = core::make_error(ErrorCode::kPersonLocked,
                                       "person '" + record.person_id + "' is locked after " +
                                           std::to_string(record.failures) +
                                           " wrong PINs; an administrator must reset the PIN");
    return attempt;
  }
  MEDLEDGER_ASSERT(record.state == PinState::kActive && record.failures < max_failures);
  if (policy.backoff) {
    const std::int64_t ready_at = record.last_failure_unix + backoff_seconds(record.failures);
    if (record.failures > 0 && now_unix < ready_at) {
      attempt.outcome = core::make_error(ErrorCode::kPersonLocked,
                                         "person '" + record.person_id + "' must wait " +
                                             std::to_string(ready_at - now_unix) +
                                             " s before the next PIN attempt");
      return attempt;
    }
  }
  bool match = false;
  if (pin.size() >= kMinPinBytes && pin.size() <= kMaxPinBytes && params_accepted(record.params)) {
    auto hash = scrypt(pin, record.salt, record.params);
    if (!hash) {
      attempt.outcome = hash.error();  // OpenSSL failed: no failure is counted
      return attempt;
    }
    match = core::constant_time_equal(*hash, record.hash);
  }
  if (match) {
    attempt.next.failures = 0;
    attempt.next.last_failure_unix = 0;
    return attempt;
  }
  attempt.next.failures = record.failures + 1;
  attempt.next.last_failure_unix = now_unix;
  MEDLEDGER_ASSERT(attempt.next.failures <= max_failures);  // the lockout below stops the count
  std::string message = "wrong PIN for person '" + record.person_id + "'";
  if (attempt.next.failures >= max_failures) {
    attempt.next.state = PinState::kLocked;
    message += "; the person is now locked";
  } else {
    message += "; " + std::to_string(max_failures - attempt.next.failures) +
               " attempt(s) left before lockout";
  }
  attempt.outcome = core::make_error(ErrorCode::kPersonPinIncorrect, std::move(message));
  return attempt;
}

core::Result<PinRecord> reset_pin(const PinRecord& record, const core::SecretBytes& new_pin,
                                  const ScryptParams& params) {
  return make_pin_record(record.person_id, new_pin, params);
}

}  // namespace medledger::node
