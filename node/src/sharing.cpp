// node::Sharing: access.grant carries the patient's keys wrapped for the grantee
// hospital's nodes; access.revoke rotates the key.
#include "medledger/node/sharing.h"

#include <set>

#include "custody.h"
#include "medledger/core/assert.h"
#include "medledger/core/error.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/records_state.h"
#include "node_context.h"
#include "patient_keyring.h"

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

}  // namespace

core::Result<ledger::Receipt> Sharing::grant(const GrantRequest& request,
                                             const PersonCredential& patient) {
  MEDLEDGER_TRY_ASSIGN(auto pending, grant_async(request, patient));
  return pending.wait();
}

core::Result<PendingCommit> Sharing::grant_async(const GrantRequest& request,
                                                 const PersonCredential& patient) {
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
    MEDLEDGER_TRY_ASSIGN(body.wrapped_keys, keys_.wrap_for_hospital(*state, hospital, key_refs));
  }
  if (body.wrapped_keys.empty()) {
    return core::make_error(
        ErrorCode::kNotFound,
        "hospital " + std::string(hospital) + " has no node encryption certificate on the ledger");
  }
  MEDLEDGER_ASSERT(body.wrapped_keys.size() <= ledger::kMaxWrappedKeys);
  auto tx = node_.new_transaction(ledger::kTxAccessGrant, ledger::make_access_grant_body(body));
  const core::Digest id = ledger::tx_id(tx);
  MEDLEDGER_TRY(custody_.sign(tx, id, request.patient, patient));
  return node_.endorse_and_submit_async(std::move(tx), id);
}

core::Result<ledger::Receipt> Sharing::revoke(std::string_view patient, std::string_view grantee,
                                              const PersonCredential& patient_credential) {
  MEDLEDGER_TRY(node_.persons.find(patient));
  MEDLEDGER_TRY_ASSIGN(auto current, keys_.current(patient));
  MEDLEDGER_TRY_ASSIGN(auto next, rotate_patient_key(current));
  ledger::AccessRevokeBody body;
  {
    MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
    MEDLEDGER_TRY_ASSIGN(body, revocation(node_, keys_, *state, patient, grantee, next));
  }
  MEDLEDGER_ASSERT(body.patient_key_version == next.version &&
                   body.wrapped_keys.size() <= ledger::kMaxWrappedKeys);
  auto tx = node_.new_transaction(ledger::kTxAccessRevoke, ledger::make_access_revoke_body(body));
  const core::Digest id = ledger::tx_id(tx);
  MEDLEDGER_TRY(custody_.sign(tx, id, patient, patient_credential));
  MEDLEDGER_TRY_ASSIGN(auto pending, node_.endorse_and_submit_async(std::move(tx), id));
  auto receipt = pending.wait();
  if (!receipt) return receipt;
  // Later records are sealed under the new version; the grantee never received it.
  MEDLEDGER_TRY(keys_.store(next));
  return receipt;
}

}  // namespace medledger::node
