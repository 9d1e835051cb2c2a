// Person PIN verifier (docs/encryption.md): before the node signs with a doctor's
// or patient's custodial key, the person's PIN is checked against a salted scrypt
// hash, with backoff and lockout. Never on the ledger.
//
// check_pin is a pure state machine over a stored PinRecord: it returns the next
// record and the outcome, and the caller must store the next record durably
// BEFORE acting on the outcome (else a crash could forget a failure). PinStore
// (pin_store.h) does that for files; a ledger-independent store can do it too.
//
//   state    : active | locked
//   right PIN, active, not backing off  -> ok; failures = 0
//   wrong PIN, active, not backing off  -> PERSON_PIN_INCORRECT; failures + 1,
//                                          last_failure = now; locked at max_failures
//   active but backing off              -> PERSON_LOCKED ("try again in N s"); unchanged,
//                                          scrypt not even run
//   locked                              -> PERSON_LOCKED; unchanged, scrypt not run
//   reset_pin (administrator)           -> new salt and hash, active, failures = 0
//
// Backoff: once failures >= kPinBackoffAfterFailures, the next try must come
// 2^(failures - kPinBackoffAfterFailures) s after the last failure (max 300 s).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/secret.h"
#include "medledger/node/limits.h"

namespace medledger::node {

/// The "format" value of a stored PIN record.
inline constexpr std::string_view kPinRecordFormat = "medledger-pin-v1";

struct ScryptParams {
  unsigned log2_n = kDefaultScryptLogN;
  std::uint32_t r = kDefaultScryptR;
  std::uint32_t p = kDefaultScryptP;
};

struct PinPolicy {
  std::uint32_t max_failures = kDefaultMaxPinFailures;  // clamped to [1, kMaxPinFailuresCeiling]
  bool backoff = true;                                  // the time-based delay before lockout
};

enum class PinState { kActive, kLocked };

struct PinRecord {
  std::string person_id;  // 1..kMaxIdentifierBytes printable ASCII
  ScryptParams params;
  core::Bytes salt;  // kPinSaltSize random bytes
  core::Bytes hash;  // kPinHashSize bytes: scrypt(PIN, salt, params)
  PinState state = PinState::kActive;
  std::uint32_t failures = 0;          // consecutive wrong PINs
  std::int64_t last_failure_unix = 0;  // seconds; 0 when failures == 0

  /// Canonical JSON (docs/encryption.md); holds no PIN, only salt and hash.
  std::string to_json_text() const;
  /// Strict parse: every member present and in range (scrypt parameters within the
  /// accepted bounds). kMalformedEncoding otherwise.
  static core::Result<PinRecord> from_json_text(std::string_view text);
};

/// A new active record for `pin`: fresh salt, scrypt hash. kInvalidArgument for a
/// bad person id, a PIN outside kMinPinBytes..kMaxPinBytes (the message never holds
/// the PIN) or parameters outside the accepted bounds. Cost: one scrypt (~50-100 ms,
/// 32 MiB at the defaults).
core::Result<PinRecord> make_pin_record(std::string person_id, const core::SecretBytes& pin,
                                        const ScryptParams& params = {});

/// The result of one PIN attempt: the record to store, then the outcome to act on.
struct PinAttempt {
  PinRecord next;
  core::Result<void> outcome;  // ok, kPersonPinIncorrect or kPersonLocked
};

/// One attempt at `now_unix` (seconds) under `policy`; see the table above. The
/// comparison is constant-time. Cost: one scrypt, unless locked or backing off.
PinAttempt check_pin(const PinRecord& record, const core::SecretBytes& pin, std::int64_t now_unix,
                     const PinPolicy& policy = {});

/// Administrator reset: a new PIN (new salt) and an active record with no
/// failures. Errors as make_pin_record.
core::Result<PinRecord> reset_pin(const PinRecord& record, const core::SecretBytes& new_pin,
                                  const ScryptParams& params = {});

}  // namespace medledger::node
