// Person sessions: a doctor or patient proves their PIN once (one scrypt) and
// gets an opaque random token that lets the node sign for them a bounded number
// of times for a bounded time -- instead of one scrypt (~90 ms) per signature.
//
//     auto session = node->open_session("hospital-a/dr-1", pin);        // scrypt once
//     node->put_record(request, PersonCredential::session_token(session->token),
//                               PersonCredential::session_token(patient_session->token));
//     node->close_session(session->token);
//
// The table keeps SHA-256(token) -> {principal, expiry, signatures left}, never the
// token: a memory dump holds no usable token, and the lookup is by a hash the
// attacker cannot aim at (its timing reveals nothing about the token's bytes).
// Sessions live in memory only: a restart ends them all. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "medledger/core/result.h"
#include "medledger/core/secret.h"
#include "medledger/core/sha256.h"
#include "medledger/node/limits.h"

namespace medledger::node {

/// How a person proves presence for a custodial signature: their PIN (scrypt and
/// the lockout rules on each use) or a session token from open_session. Move-only
/// (it holds a secret, wiped on destruction).
class PersonCredential {
 public:
  enum class Kind { kPin, kSessionToken };
  /// The person's PIN.
  static PersonCredential pin(core::SecretBytes pin) { return {Kind::kPin, std::move(pin)}; }
  /// A session token as open_session returned it (base64url text).
  static PersonCredential session_token(core::SecretBytes token) {
    return {Kind::kSessionToken, std::move(token)};
  }
  static PersonCredential session_token(std::string_view token) {
    return {Kind::kSessionToken, core::SecretBytes(core::to_bytes(token))};
  }
  Kind kind() const { return kind_; }
  const core::SecretBytes& secret() const { return secret_; }

 private:
  PersonCredential(Kind kind, core::SecretBytes secret) : kind_(kind), secret_(std::move(secret)) {}
  Kind kind_;
  core::SecretBytes secret_;
};

/// What open_session hands back. The token is the only copy: the node keeps its hash.
struct PersonSession {
  core::SecretBytes token;       // kSessionTokenBytes random bytes, base64url (43 characters)
  std::int64_t expires_ms = 0;   // unix milliseconds
  std::uint32_t signatures = 0;  // how many custodial signatures it allows
};

/// kInvalidArgument unless ttl is in (0, kMaxSessionTtl] and signatures in
/// [1, kMaxSessionSignatures].
core::Result<void> check_session_limits(std::chrono::seconds ttl, std::uint32_t signatures);

class PersonSessionTable {
 public:
  using Clock = std::function<std::int64_t()>;  // unix milliseconds
  /// `now` defaults to the system clock; tests pass their own.
  explicit PersonSessionTable(Clock now = {});

  /// A new session for `principal` (whose PIN the caller has just verified), valid
  /// for `ttl` and `signatures` signatures. kInvalidArgument (check_session_limits);
  /// kSessionExhausted if kMaxOpenSessions live sessions exist (expired ones are
  /// dropped first). Cost: 32 random bytes, one SHA-256.
  core::Result<PersonSession> open(std::string_view principal, std::chrono::seconds ttl,
                                   std::uint32_t signatures = kMaxSessionSignatures);

  /// Spends one signature of the session `token` for `principal`. kPersonSessionInvalid
  /// if the token is unknown, closed, expired, used up or another person's (the same
  /// code for all, so a caller learns nothing about other persons' sessions); an
  /// expired or used-up session is dropped. Cost: one SHA-256, one map lookup.
  core::Result<void> use(std::string_view principal, const core::SecretBytes& token);

  /// Ends the session. kPersonSessionInvalid if unknown (or already closed / expired).
  core::Result<void> close(const core::SecretBytes& token);
  /// Ends every session of `principal` (the person was revoked or locked). Returns how many.
  std::size_t close_all_of(std::string_view principal);
  /// Sessions in the table (expired ones included until they are swept).
  std::size_t size() const;

 private:
  struct Entry {
    std::string principal;
    std::int64_t expires_ms = 0;
    std::uint32_t signatures_left = 0;
  };
  void sweep_expired(std::int64_t now_ms);  // mutex_ held

  Clock now_;
  mutable std::mutex mutex_;
  std::map<core::Digest, Entry> sessions_;  // SHA-256(token text) -> session
};

}  // namespace medledger::node
