// Internal: what lets the node sign for a person it holds the key of -- their
// PIN verifier (PinStore), their sessions (PersonSessionTable) and a cache of
// their custodial signers. Every custodial signature goes through here after
// the person's credential; records, sharing, enrolment and revocation use it,
// and node::Signing is its public face. Thread-safe: the PIN store, the session
// table and the signer cache each guard themselves; no lock is held across a
// token call.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "medledger/core/result.h"
#include "medledger/core/secret.h"
#include "medledger/core/sha256.h"
#include "medledger/core/signer.h"
#include "medledger/ledger/transaction.h"
#include "medledger/node/person_directory.h"
#include "medledger/node/person_session.h"
#include "medledger/node/pin_store.h"

namespace medledger::node {

struct NodeContext;

class Custody {
 public:
  Custody(const NodeContext& node, std::unique_ptr<PinStore> pins);

  /// A person's custodial signer and certificate fingerprint.
  struct Key {
    std::shared_ptr<core::Signer> signer;  // thread-safe: signs through the SessionPool
    core::Digest fingerprint{};
  };
  /// The person's key, cached per principal (a person is never rewritten, so an
  /// entry never goes stale). kNotFound, kInvalidArgument (external key), token errors.
  core::Result<std::shared_ptr<const Key>> key(std::string_view principal);

  /// A PIN (scrypt + lockout) or a session token (one signature of its budget spent).
  core::Result<void> check(std::string_view principal, const PersonCredential& credential);
  /// check(), then the person's signature over id = tx_id(tx): nothing is signed
  /// for a wrong PIN or a dead session.
  core::Result<void> sign(ledger::Transaction& tx, const core::Digest& id,
                          std::string_view principal, const PersonCredential& credential);

  /// Signing::open_session / close_session (docs/node.md).
  core::Result<PersonSession> open_session(std::string_view principal, const core::SecretBytes& pin,
                                           std::chrono::seconds ttl, std::uint32_t signatures);
  core::Result<void> close_session(const core::SecretBytes& token);

  /// Nothing is signed for the person from now on: PIN record locked, sessions closed.
  core::Result<void> lock(std::string_view principal);
  /// A new person's PIN verifier; its removal when their enrolment is undone.
  core::Result<void> enrol_pin(const PinRecord& record);
  core::Result<void> remove_pin(std::string_view principal);

 private:
  core::Result<std::shared_ptr<core::Signer>> signer_of(const PersonEntry& person);

  const NodeContext& node_;
  std::unique_ptr<PinStore> pins_;
  PersonSessionTable sessions_;
  std::mutex keys_mutex_;
  std::map<std::string, std::shared_ptr<const Key>, std::less<>> keys_;
};

}  // namespace medledger::node
