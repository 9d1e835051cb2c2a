// node::Signing: how persons sign through a HospitalNode -- sessions that stand
// for a PIN, custodial signatures after a credential, signatures made elsewhere
// and checked here, and the node's endorsement before a transaction is submitted.
// Reached as HospitalNode::signing(); docs/node.md lists each call's errors.
// Thread-safe (see hospital_node.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string_view>

#include "medledger/core/result.h"
#include "medledger/core/secret.h"
#include "medledger/core/sha256.h"
#include "medledger/core/signer.h"
#include "medledger/ledger/receipt.h"
#include "medledger/ledger/transaction.h"
#include "medledger/node/consortium_ledger.h"
#include "medledger/node/limits.h"
#include "medledger/node/person_session.h"

namespace medledger::node {

struct NodeContext;
class Custody;

/// A transaction built and sealed, not yet signed: give `tx_id` to external signers.
struct PreparedTransaction {
  ledger::Transaction tx;
  core::Digest tx_id{};
};

/// A person's signature over a digest (Signing::sign_digest).
struct DigestSignature {
  core::Bytes signature;  // as core::Signer::sign_digest: X9.62 DER (P-256) or 64 raw bytes
  core::KeyAlgorithm algorithm = core::KeyAlgorithm::kEcdsaP256;
  core::Digest cert_fingerprint{};  // the person's certificate, which verifies it
};

class Signing {
 public:
  Signing(const NodeContext& node, Custody& custody) : node_(node), custody_(custody) {}
  Signing(const Signing&) = delete;
  Signing& operator=(const Signing&) = delete;

  /// Verifies the person's PIN once (scrypt, lockout rules as for any PIN check)
  /// and opens a session: a random 256-bit token (base64url) that stands for the
  /// PIN for `ttl` (at most kMaxSessionTtl) and `signatures` (at most
  /// kMaxSessionSignatures) custodial signatures. Only SHA-256(token) is kept, in memory.
  /// kNotFound, kInvalidArgument (ttl; a person who keeps their own key), PIN codes,
  /// kSessionExhausted (kMaxOpenSessions live). Cost: one scrypt.
  core::Result<PersonSession> open_session(std::string_view principal, const core::SecretBytes& pin,
                                           std::chrono::seconds ttl = kDefaultSessionTtl,
                                           std::uint32_t signatures = kMaxSessionSignatures);
  /// Ends a session now. kPersonSessionInvalid if unknown, closed or expired.
  core::Result<void> close_session(const core::SecretBytes& token);

  /// Checks the credential (a PIN: scrypt + lockout; a session token: its
  /// person, expiry and budget -- one signature spent), then signs tx_id with the
  /// person's custodial key. kNotFound, kPersonPinIncorrect, kPersonLocked,
  /// kPersonSessionInvalid, token errors. Cost: a scrypt (PIN) or a hash (session)
  /// + one token signature.
  core::Result<void> sign(ledger::Transaction& tx, std::string_view principal,
                          const PersonCredential& credential);
  /// The person's signature over a 32-byte digest with their custodial key, after
  /// the credential ("nodes request signatures": the caller signs its own bytes).
  /// Errors and cost as sign.
  core::Result<DigestSignature> sign_digest(std::string_view principal,
                                            const PersonCredential& credential,
                                            const core::Digest& digest);
  /// Adds a signature made elsewhere (the person's own device) after checking it
  /// verifies over tx_id under the certificate it names, registered on the ledger:
  /// kCertNotOnLedger, kSignatureInvalid, kUnsupportedAlgorithm (the key is not
  /// `signature.algorithm`), kTxMalformed (the certificate has signed `tx` already).
  core::Result<void> add_external_signature(ledger::Transaction& tx,
                                            const ledger::TransactionSignature& signature);
  /// Node endorsement, then submit; the receipt if accepted, else the rejection
  /// code as the error (the transaction is logged with it).
  core::Result<ledger::Receipt> endorse_and_submit(ledger::Transaction tx);
  /// The same without waiting for the commit: endorses, queues and returns the
  /// pending commit (PendingCommit::wait gives the receipt or the rejection).
  core::Result<PendingCommit> endorse_and_submit_async(ledger::Transaction tx);

 private:
  // The public key (DER SPKI) of a registered certificate, by fingerprint.
  core::Result<core::Bytes> registered_key(const core::Digest& fingerprint);

  const NodeContext& node_;
  Custody& custody_;
  // The public key (SPKI) of each registered certificate add_external_signature has
  // seen, by fingerprint: a certificate's DER (hence its key) never changes and a
  // registration is never removed, so no ledger read or X.509 parse per signature.
  std::mutex external_keys_mutex_;
  std::map<core::Digest, core::Bytes> external_keys_;  // at most kMaxCachedCustodialKeys
};

}  // namespace medledger::node
