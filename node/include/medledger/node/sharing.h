// node::Sharing: a patient's grants and revocations. access.grant carries the
// patient's keys wrapped for the grantee hospital's nodes; access.revoke rotates
// the patient key so later records are sealed under a version the revoked
// grantee never receives. Reached as HospitalNode::sharing(); docs/node.md lists
// each call's errors. Thread-safe (see hospital_node.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/core/result.h"
#include "medledger/ledger/receipt.h"
#include "medledger/node/consortium_ledger.h"
#include "medledger/node/patient_key.h"
#include "medledger/node/person_session.h"
#include "medledger/node/signing.h"

namespace medledger::node {

struct NodeContext;
class Custody;
class PatientKeyring;
class PreparedTransactions;

struct GrantRequest {
  std::string patient;             // principal, enrolled at this node
  std::string grantee;             // hospital id or doctor principal
  std::vector<std::string> scope;  // empty = all records
  std::optional<std::int64_t> expires_ms;
};

class Sharing {
 public:
  Sharing(const NodeContext& node, Custody& custody, PatientKeyring& keys, Signing& signing,
          PreparedTransactions& prepared)
      : node_(node), custody_(custody), keys_(keys), signing_(signing), prepared_(prepared) {}
  Sharing(const Sharing&) = delete;
  Sharing& operator=(const Sharing&) = delete;

  /// access.grant signed by the patient (after the credential) + node, carrying
  /// the patient key wrapped for every node encryption key of the grantee's
  /// hospital registered on the ledger (kNotFound if it has none). Records listed
  /// in the scope must exist and be the patient's (kRecordNotFound,
  /// kRecordNotOwner): refused before anything is signed.
  core::Result<ledger::Receipt> grant(const GrantRequest& request, const PersonCredential& patient);
  /// grant up to the queued transaction: errors before it is queued come
  /// here, the commit's outcome from PendingCommit::wait / then.
  core::Result<PendingCommit> grant_async(const GrantRequest& request,
                                          const PersonCredential& patient);
  /// access.revoke signed by the patient + node; rotates the patient key (new
  /// version wrapped for this hospital's nodes and the remaining grantees).
  /// kGrantNotFound without an active grant. Synchronous: the new key is stored
  /// here only after the commit.
  core::Result<ledger::Receipt> revoke(std::string_view patient, std::string_view grantee,
                                       const PersonCredential& patient_credential);

  // A patient who keeps their own key (or whose signature the caller obtains
  // otherwise): prepare_* builds the transaction grant / revoke would submit and
  // keeps it kPreparedLifetime in memory; the patient signs tx_id on their device;
  // submit_signed_* checks that signature and endorses. The node endorses no
  // access.grant or access.revoke it did not prepare.

  /// The access.grant grant() would submit, unsigned. Errors as grant_async without
  /// the credential's; kSessionExhausted (kMaxPreparedTransactions waiting).
  core::Result<PreparedTransaction> prepare_grant(const GrantRequest& request);
  /// The access.revoke revoke() would submit, unsigned; its rotated patient key is
  /// kept with it until the commit. kNotFound, kGrantNotFound, kSessionExhausted.
  core::Result<PreparedTransaction> prepare_revoke(std::string_view patient,
                                                   std::string_view grantee);
  /// A prepared access.grant with the patient's signature (one, over tx_id, by a
  /// registered certificate of the body's patient): checked, endorsed, queued.
  /// Refused before endorsing, nothing logged: kInvalidArgument (not prepared here:
  /// another node, a restart, a changed byte; or not exactly one signature),
  /// kTxTimeOutsideWindow (prepared more than kPreparedLifetime ago), kTxDuplicate
  /// (already on the ledger), kCertNotOnLedger, kCertificateWrongRole (not a
  /// patient certificate), kPatientMismatch (another patient's), kCertificateRevoked,
  /// kSignatureInvalid, kUnsupportedAlgorithm. Then the contract's codes.
  core::Result<PendingCommit> submit_signed_grant(
      ledger::Transaction tx, std::span<const ledger::TransactionSignature> signatures);
  /// The same for a prepared access.revoke; waits for the commit, then keeps the
  /// rotated key (later records are sealed under it). Synchronous, as revoke().
  core::Result<ledger::Receipt> submit_signed_revoke(
      ledger::Transaction tx, std::span<const ledger::TransactionSignature> signatures);

 private:
  // The access.grant of `request` (scope checked, keys wrapped), unsigned.
  core::Result<ledger::Transaction> grant_transaction(const GrantRequest& request);
  // The access.revoke of (patient, grantee), unsigned, and its rotated key in `next`.
  core::Result<ledger::Transaction> revoke_transaction(std::string_view patient,
                                                       std::string_view grantee, PatientKey& next);
  // What submit_signed_* check before endorsing (their doc comment): the prepared
  // entry of `tx`, with the patient's signature added to `tx`.
  core::Result<std::shared_ptr<const PatientKey>> add_patient_signature(
      ledger::Transaction& tx, std::string_view type,
      std::span<const ledger::TransactionSignature> signatures);

  const NodeContext& node_;
  Custody& custody_;
  PatientKeyring& keys_;
  Signing& signing_;
  PreparedTransactions& prepared_;
};

}  // namespace medledger::node
