// HospitalNode: patient keys and sharing -- access.grant carries the patient's
// keys wrapped for the grantee hospital's nodes; access.revoke rotates the key.
#include <algorithm>
#include <set>

#include "hospital_node_internal.h"
#include "medledger/core/error.h"
#include "medledger/ledger/records_state.h"

namespace medledger::node {

using core::ErrorCode;

core::Result<PatientKey> HospitalNode::current_patient_key(std::string_view patient) {
  const auto now = PatientKeyCache::Clock::now();
  if (auto cached = patient_key_cache_.get(patient, now)) return std::move(*cached);
  auto keys = detail::load_patient_key_file(dir_, patient);
  if (!keys) return keys.error();
  if (keys->empty()) {
    return core::make_error(ErrorCode::kNotFound,
                            "no patient key for " + std::string(patient) + " at this node");
  }
  const auto newest =
      std::max_element(keys->begin(), keys->end(),
                       [](const auto& a, const auto& b) { return a.key_version < b.key_version; });
  auto key = unwrap_patient_key(*keys_->encryption, *newest);
  if (key) patient_key_cache_.put(*key, now);
  return key;
}

core::Result<void> HospitalNode::store_patient_key(const PatientKey& key) {
  auto wrapped = wrap_patient_key_for(keys_->encryption->public_key_spki(), key);
  if (!wrapped) return wrapped.error();
  std::lock_guard<std::mutex> guard(patient_keys_mutex_);
  MEDLEDGER_TRY(detail::append_patient_key_file(dir_, *wrapped));
  // The newest version from now on (a rotation): later seals use it at once, and
  // a concurrent writer's older version can no longer replace it in the cache.
  patient_key_cache_.put(key, PatientKeyCache::Clock::now());
  return core::success();
}

core::Result<std::vector<boost::json::object>> HospitalNode::wrap_for_hospital(
    const ledger::StateView& state, std::string_view hospital_id,
    const std::vector<const PatientKey*>& keys) {
  std::vector<boost::json::object> out;
  auto fingerprints =
      ledger::person_certificates(state, ledger::principal(hospital_id, kNodeEncryptionId));
  if (!fingerprints) return fingerprints.error();
  const std::int64_t now_s = now_ms() / 1000;
  for (const auto& fp : *fingerprints) {
    auto entry = ledger::find_certificate(state, fp);
    if (!entry) return entry.error();
    if (!*entry || (*entry)->status != "valid" || (*entry)->role != "node" ||
        (*entry)->not_after <= now_s)
      continue;
    auto cert = ca::Certificate::from_der((*entry)->der);
    if (!cert) return cert.error();
    for (const PatientKey* key : keys) {
      if (out.size() == ledger::kMaxWrappedKeys)
        return out;  // the contract's bound; newest keys come first
      auto wrapped = wrap_patient_key_for(cert->public_key_spki(), *key);
      if (!wrapped) return wrapped.error();
      out.push_back(wrapped->to_json());
    }
  }
  return out;
}

core::Result<ledger::Receipt> HospitalNode::grant_access(const GrantRequest& request,
                                                         const core::SecretBytes& patient_pin) {
  return grant_access(request, PersonCredential::pin(patient_pin.clone()));
}

core::Result<ledger::Receipt> HospitalNode::grant_access(
    const GrantRequest& request, const PersonCredential& patient_credential) {
  auto pending = grant_access_async(request, patient_credential);
  if (!pending) return pending.error();
  return pending->wait();
}

core::Result<PendingCommit> HospitalNode::grant_access_async(
    const GrantRequest& request, const PersonCredential& patient_credential) {
  auto person = persons_.find(request.patient);
  if (!person) return person.error();
  if (person->role != ca::Role::kPatient) {
    return core::make_error(ErrorCode::kCertificateWrongRole,
                            request.patient + " is not a patient");
  }
  // Every version the node holds, newest first, so the grantee can read old records too.
  auto stored = detail::load_patient_key_file(dir_, request.patient);
  if (!stored) return stored.error();
  std::vector<PatientKey> keys;
  for (auto it = stored->rbegin(); it != stored->rend(); ++it) {
    auto key = unwrap_patient_key(*keys_->encryption, *it);
    if (!key) return key.error();
    keys.push_back(std::move(*key));
  }
  std::vector<const PatientKey*> key_refs;
  for (const auto& key : keys) key_refs.push_back(&key);

  ledger::AccessGrantBody body;
  body.patient = request.patient;
  body.grantee = request.grantee;
  body.scope = request.scope;
  body.expires_ms = request.expires_ms;
  {
    auto state = ledger::StateSnapshot::open(ledger_.ledger().store());
    if (!state) return state.error();
    auto wrapped = wrap_for_hospital(**state, detail::hospital_of(request.grantee), key_refs);
    if (!wrapped) return wrapped.error();
    if (wrapped->empty()) {
      return core::make_error(ErrorCode::kNotFound,
                              "hospital " + std::string(detail::hospital_of(request.grantee)) +
                                  " has no node encryption certificate on the ledger");
    }
    body.wrapped_keys = std::move(*wrapped);
  }
  auto tx = new_transaction(ledger::kTxAccessGrant, ledger::make_access_grant_body(body));
  MEDLEDGER_TRY(sign_as(tx, request.patient, patient_credential));
  return endorse_and_submit_async(std::move(tx));
}

core::Result<ledger::Receipt> HospitalNode::revoke_access(std::string_view patient,
                                                          std::string_view grantee,
                                                          const core::SecretBytes& patient_pin) {
  return revoke_access(patient, grantee, PersonCredential::pin(patient_pin.clone()));
}

core::Result<ledger::Receipt> HospitalNode::revoke_access(std::string_view patient,
                                                          std::string_view grantee,
                                                          const PersonCredential& credential) {
  auto person = persons_.find(patient);
  if (!person) return person.error();
  auto current = current_patient_key(patient);
  if (!current) return current.error();
  auto next = rotate_patient_key(*current);
  if (!next) return next.error();

  ledger::AccessRevokeBody body;
  body.patient = std::string(patient);
  body.grantee = std::string(grantee);
  {
    auto state = ledger::StateSnapshot::open(ledger_.ledger().store());
    if (!state) return state.error();
    auto grant = ledger::find_grant(**state, patient, grantee);
    if (!grant) return grant.error();
    if (!*grant || (*grant)->status != "active") {
      return core::make_error(
          ErrorCode::kGrantNotFound,
          "no active grant of " + std::string(patient) + " to " + std::string(grantee));
    }
    // The rotated version must exceed the one on the ledger (another node of
    // this hospital may have rotated already).
    auto on_ledger = ledger::latest_patient_key(**state, patient);
    if (!on_ledger) return on_ledger.error();
    if (*on_ledger && (*on_ledger)->version >= next->version)
      next->version = (*on_ledger)->version + 1;

    // Who may still read later records: this hospital's nodes and the other active grantees' nodes.
    std::set<std::string> hospitals{config_.hospital_id};
    auto grants = ledger::patient_grants(**state, patient);
    if (!grants) return grants.error();
    for (const auto& other : *grants) {
      if (other.status == "active" && other.grantee != grantee) {
        hospitals.insert(std::string(detail::hospital_of(other.grantee)));
      }
    }
    for (const auto& hospital : hospitals) {
      auto wrapped = wrap_for_hospital(**state, hospital, {&*next});
      if (!wrapped) return wrapped.error();
      for (auto& w : *wrapped) {
        if (body.wrapped_keys.size() < ledger::kMaxWrappedKeys)
          body.wrapped_keys.push_back(std::move(w));
      }
    }
  }
  body.patient_key_version = next->version;
  auto tx = new_transaction(ledger::kTxAccessRevoke, ledger::make_access_revoke_body(body));
  MEDLEDGER_TRY(sign_as(tx, patient, credential));
  auto receipt = endorse_and_submit(std::move(tx));
  if (!receipt) return receipt;
  // Later records are sealed under the new version; the grantee never received it.
  MEDLEDGER_TRY(store_patient_key(*next));
  return receipt;
}

}  // namespace medledger::node
