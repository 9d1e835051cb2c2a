// node::Sharing: access.grant carries the patient's keys wrapped for the grantee
// hospital's nodes; access.revoke rotates the key.
#include "medledger/node/sharing.h"

#include <set>

#include "custody.h"
#include "medledger/core/assert.h"
#include "medledger/core/error.h"
#include "medledger/node/limits.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/records_state.h"
#include "node_context.h"
#include "patient_keyring.h"
#include "prepared_transactions.h"

namespace medledger::node {

using core::ErrorCode;

namespace {

// The access.revoke body of `patient`'s grant to `grantee` on `state`: the next
// key version (above the one on the ledger, which another node of this hospital
// may have rotated already) wrapped for this hospital's nodes and those of the
// patient's other active grantees.
core::Result<ledger::AccessRevokeBody> revocation(const NodeContext& node,
                                                  const PatientKeyring& keys,
                                                  const ledger::StateView& state,
                                                  std::string_view patient,
                                                  std::string_view grantee, PatientKey& next) {
  MEDLEDGER_TRY_ASSIGN(auto grant, ledger::find_grant(state, patient, grantee));
  if (!grant || grant->status != "active") {
    return core::make_error(
        ErrorCode::kGrantNotFound,
        "no active grant of " + std::string(patient) + " to " + std::string(grantee));
  }
  MEDLEDGER_TRY_ASSIGN(auto on_ledger, ledger::latest_patient_key(state, patient));
  if (on_ledger && on_ledger->version >= next.version) next.version = on_ledger->version + 1;

  std::set<std::string> hospitals{node.config.hospital_id};
  MEDLEDGER_TRY_ASSIGN(auto grants, ledger::patient_grants(state, patient));
  for (const auto& other : grants) {
    if (other.status == "active" && other.grantee != grantee)
      hospitals.insert(std::string(detail::hospital_of(other.grantee)));
  }
  ledger::AccessRevokeBody body;
  body.patient = std::string(patient);
  body.grantee = std::string(grantee);
  body.patient_key_version = next.version;
  for (const auto& hospital : hospitals) {
    MEDLEDGER_TRY_ASSIGN(auto wrapped, keys.wrap_for_hospital(state, hospital, {&next}));
    for (auto& w : wrapped) {
      if (body.wrapped_keys.size() < ledger::kMaxWrappedKeys)
        body.wrapped_keys.push_back(std::move(w));
    }
  }
  return body;
}

// Listed records must exist and be the patient's: refused before anything is signed,
// with the codes the contract would log.
core::Result<void> check_scope(const ledger::StateView& state, const GrantRequest& request) {
  for (const auto& id : request.scope) {
    MEDLEDGER_TRY_ASSIGN(auto record, ledger::find_record(state, id));
    if (!record) return core::make_error(ErrorCode::kRecordNotFound, "no record " + id);
    if (record->owner != request.patient) {
      return core::make_error(ErrorCode::kRecordNotOwner,
                              "record " + id + " is not " + request.patient + "'s");
    }
  }
  return core::success();
}

// The entry `tx` (whose tx_id is `id`) was prepared under, if it is still good.
core::Result<PreparedTransactions::Entry> prepared_entry(const NodeContext& node,
                                                         const PreparedTransactions& prepared,
                                                         const ledger::Transaction& tx,
                                                         const core::Digest& id) {
  const std::int64_t now = node.now_ms();
  const auto entry = prepared.find(id);
  MEDLEDGER_TRY_ASSIGN(auto logged, node.ledger.ledger().find(id));
  if (logged) {
    return core::make_error(ErrorCode::kTxDuplicate,
                            "this transaction is on the ledger already (sequence " +
                                std::to_string(*logged) + "): prepare a new one");
  }
  if ((entry && entry->expires_at_ms <= now) ||
      (!entry && now - tx.time_ms >= kPreparedLifetime.count())) {
    return core::make_error(ErrorCode::kTxTimeOutsideWindow,
                            "prepared more than " +
                                std::to_string(kPreparedLifetime.count() / 1000) +
                                " s ago: prepare a new transaction");
  }
  if (!entry || entry->type != tx.type) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "this " + tx.type +
                                " was not prepared by this node (or the node restarted): the "
                                "node endorses only what it prepared");
  }
  return *entry;
}

// The certificate `fingerprint` is a valid patient certificate of `patient`.
core::Result<void> check_patient_signer(const ledger::StateView& state,
                                        const core::Digest& fingerprint, std::string_view patient) {
  MEDLEDGER_TRY_ASSIGN(auto cert, ledger::find_certificate(state, fingerprint));
  if (!cert) {
    return core::make_error(ErrorCode::kCertNotOnLedger,
                            "the signature names a certificate the ledger does not hold");
  }
  if (cert->role != ca::role_name(ca::Role::kPatient)) {
    return core::make_error(
        ErrorCode::kCertificateWrongRole,
        "the signature is by a " + cert->role + " certificate, not a patient's");
  }
  if (ledger::principal(cert->hospital, cert->id) != patient) {
    return core::make_error(ErrorCode::kPatientMismatch,
                            "the signature is not by " + std::string(patient));
  }
  if (cert->status == "revoked") {
    return core::make_error(ErrorCode::kCertificateRevoked, "the patient's certificate is revoked");
  }
  return core::success();
}

// Endorses and submits a signed access.revoke, waits for its commit, then keeps
// the rotated key: later records are sealed under it, which the grantee never receives.
core::Result<ledger::Receipt> submit_revocation(const NodeContext& node, PatientKeyring& keys,
                                                ledger::Transaction tx, const core::Digest& id,
                                                const PatientKey& next) {
  MEDLEDGER_TRY_ASSIGN(auto pending, node.endorse_and_submit_async(std::move(tx), id));
  auto receipt = pending.wait();
  if (!receipt) return receipt;
  MEDLEDGER_TRY(keys.store(next));
  return receipt;
}

}  // namespace

core::Result<ledger::Receipt> Sharing::grant(const GrantRequest& request,
                                             const PersonCredential& patient) {
  MEDLEDGER_TRY_ASSIGN(auto pending, grant_async(request, patient));
  return pending.wait();
}

core::Result<PendingCommit> Sharing::grant_async(const GrantRequest& request,
                                                 const PersonCredential& patient) {
  MEDLEDGER_TRY_ASSIGN(auto tx, grant_transaction(request));
  const core::Digest id = ledger::tx_id(tx);
  MEDLEDGER_TRY(custody_.sign(tx, id, request.patient, patient));
  return node_.endorse_and_submit_async(std::move(tx), id);
}

core::Result<ledger::Transaction> Sharing::grant_transaction(const GrantRequest& request) {
  MEDLEDGER_TRY(node_.enrolled_as(request.patient, ca::Role::kPatient, "a patient"));
  // Every version the node holds, newest first, so the grantee can read old records too.
  MEDLEDGER_TRY_ASSIGN(auto keys, keys_.all_newest_first(request.patient));
  std::vector<const PatientKey*> key_refs;
  for (const auto& key : keys) key_refs.push_back(&key);

  ledger::AccessGrantBody body;
  body.patient = request.patient;
  body.grantee = request.grantee;
  body.scope = request.scope;
  body.expires_ms = request.expires_ms;
  const std::string_view hospital = detail::hospital_of(request.grantee);
  {
    MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
    MEDLEDGER_TRY(check_scope(*state, request));
    MEDLEDGER_TRY_ASSIGN(body.wrapped_keys, keys_.wrap_for_hospital(*state, hospital, key_refs));
  }
  if (body.wrapped_keys.empty()) {
    return core::make_error(
        ErrorCode::kNotFound,
        "hospital " + std::string(hospital) + " has no node encryption certificate on the ledger");
  }
  MEDLEDGER_ASSERT(body.wrapped_keys.size() <= ledger::kMaxWrappedKeys);
  return node_.new_transaction(ledger::kTxAccessGrant, ledger::make_access_grant_body(body));
}

core::Result<ledger::Transaction> Sharing::revoke_transaction(std::string_view patient,
                                                              std::string_view grantee,
                                                              PatientKey& next) {
  MEDLEDGER_TRY(node_.enrolled_as(patient, ca::Role::kPatient, "a patient"));
  MEDLEDGER_TRY_ASSIGN(auto current, keys_.current(patient));
  MEDLEDGER_TRY_ASSIGN(next, rotate_patient_key(current));
  ledger::AccessRevokeBody body;
  {
    MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
    MEDLEDGER_TRY_ASSIGN(body, revocation(node_, keys_, *state, patient, grantee, next));
  }
  MEDLEDGER_ASSERT(body.patient_key_version == next.version &&
                   body.wrapped_keys.size() <= ledger::kMaxWrappedKeys);
  return node_.new_transaction(ledger::kTxAccessRevoke, ledger::make_access_revoke_body(body));
}

core::Result<ledger::Receipt> Sharing::revoke(std::string_view patient, std::string_view grantee,
                                              const PersonCredential& patient_credential) {
  PatientKey next;
  MEDLEDGER_TRY_ASSIGN(auto tx, revoke_transaction(patient, grantee, next));
  const core::Digest id = ledger::tx_id(tx);
  MEDLEDGER_TRY(custody_.sign(tx, id, patient, patient_credential));
  return submit_revocation(node_, keys_, std::move(tx), id, next);
}

core::Result<PreparedTransaction> Sharing::prepare_grant(const GrantRequest& request) {
  MEDLEDGER_TRY_ASSIGN(auto tx, grant_transaction(request));
  PreparedTransaction out{std::move(tx), {}};
  out.tx_id = ledger::tx_id(out.tx);
  PreparedTransactions::Entry entry;
  entry.type = ledger::kTxAccessGrant;
  entry.patient = request.patient;
  MEDLEDGER_TRY(prepared_.add(out.tx_id, std::move(entry), node_.now_ms()));
  return out;
}

core::Result<PreparedTransaction> Sharing::prepare_revoke(std::string_view patient,
                                                          std::string_view grantee) {
  auto next = std::make_shared<PatientKey>();
  MEDLEDGER_TRY_ASSIGN(auto tx, revoke_transaction(patient, grantee, *next));
  PreparedTransaction out{std::move(tx), {}};
  out.tx_id = ledger::tx_id(out.tx);
  PreparedTransactions::Entry entry;
  entry.type = ledger::kTxAccessRevoke;
  entry.patient = std::string(patient);
  entry.rotated_key = std::move(next);
  MEDLEDGER_TRY(prepared_.add(out.tx_id, std::move(entry), node_.now_ms()));
  return out;
}

core::Result<std::shared_ptr<const PatientKey>> Sharing::add_patient_signature(
    ledger::Transaction& tx, std::string_view type,
    std::span<const ledger::TransactionSignature> signatures) {
  MEDLEDGER_ASSERT(tx.type == type);
  const core::Digest id = ledger::tx_id(tx);
  MEDLEDGER_TRY_ASSIGN(auto entry, prepared_entry(node_, prepared_, tx, id));
  if (signatures.size() != 1 || !tx.signatures.empty()) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "an " + std::string(type) + " takes one signature: the patient's");
  }
  {
    MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
    MEDLEDGER_TRY(check_patient_signer(*state, signatures.front().cert_fingerprint, entry.patient));
  }
  MEDLEDGER_TRY(signing_.add_external_signature(tx, signatures.front()));
  return entry.rotated_key;
}

core::Result<PendingCommit> Sharing::submit_signed_grant(
    ledger::Transaction tx, std::span<const ledger::TransactionSignature> signatures) {
  MEDLEDGER_TRY(add_patient_signature(tx, ledger::kTxAccessGrant, signatures));
  const core::Digest id = ledger::tx_id(tx);
  return node_.endorse_and_submit_async(std::move(tx), id);
}

core::Result<ledger::Receipt> Sharing::submit_signed_revoke(
    ledger::Transaction tx, std::span<const ledger::TransactionSignature> signatures) {
  MEDLEDGER_TRY_ASSIGN(auto next, add_patient_signature(tx, ledger::kTxAccessRevoke, signatures));
  MEDLEDGER_ASSERT(next != nullptr);  // prepare_revoke keeps one with every revocation
  const core::Digest id = ledger::tx_id(tx);
  return submit_revocation(node_, keys_, std::move(tx), id, *next);
}

}  // namespace medledger::node
