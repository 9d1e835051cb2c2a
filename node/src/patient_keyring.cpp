// The patient keys a node holds, and their wrapping for other hospitals' nodes
// (docs/encryption.md).
#include "patient_keyring.h"

#include <algorithm>

#include "medledger/core/assert.h"
#include "medledger/core/error.h"
#include "medledger/core/sha256.h"
#include "medledger/ledger/records_contract.h"
#include "node_context.h"

namespace medledger::node {

using core::ErrorCode;

namespace {

// The patient's newest key version on the ledger when it is above `local_version`,
// taken from the rotation's copy wrapped for this node. An access.revoke stores its
// rotated key only after its commit: a crash in between leaves the ledger a version
// ahead of this node's file, and sealing under the older key -- which the revoked
// hospital holds -- would let it read new records.
core::Result<std::optional<PatientKey>> newer_on_ledger(const NodeContext& node,
                                                        std::string_view patient,
                                                        std::uint64_t local_version) {
  std::optional<ledger::PatientKeyEntry> latest;
  {
    MEDLEDGER_TRY_ASSIGN(auto state, node.snapshot());
    MEDLEDGER_TRY_ASSIGN(latest, ledger::latest_patient_key(*state, patient));
  }
  if (!latest || latest->version <= local_version) return std::optional<PatientKey>();
  const core::Digest mine = core::sha256(node.encryption->public_key_spki());
  const core::Bytes recipient(mine.begin(), mine.end());
  for (const auto& object : latest->wrapped_keys) {
    auto wrapped = WrappedPatientKey::from_json(object);
    if (wrapped && wrapped->patient_id == patient && wrapped->key_version == latest->version &&
        wrapped->recipient == recipient) {
      MEDLEDGER_TRY_ASSIGN(auto key, unwrap_patient_key(*node.encryption, *wrapped));
      return std::optional<PatientKey>(std::move(key));
    }
  }
  return core::make_error(ErrorCode::kDecryptionFailed,
                          "the ledger holds key version " + std::to_string(latest->version) +
                              " of " + std::string(patient) +
                              ", which is not wrapped for this node: sealing under an older "
                              "version would expose new records to a revoked hospital");
}

}  // namespace

core::Result<PatientKey> PatientKeyring::current(std::string_view patient) {
  const auto now = PatientKeyCache::Clock::now();
  if (auto cached = cache_.get(patient, now)) return std::move(*cached);
  MEDLEDGER_TRY_ASSIGN(auto keys, detail::load_patient_key_file(node_.dir, patient));
  if (keys.empty()) {
    return core::make_error(ErrorCode::kNotFound,
                            "no patient key for " + std::string(patient) + " at this node");
  }
  const auto newest = std::max_element(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    return a.key_version < b.key_version;
  });
  MEDLEDGER_TRY_ASSIGN(auto from_ledger, newer_on_ledger(node_, patient, newest->key_version));
  if (from_ledger) {
    MEDLEDGER_TRY(store(*from_ledger));  // keeps it (and updates the cache)
    return std::move(*from_ledger);
  }
  auto key = unwrap_patient_key(*node_.encryption, *newest);
  if (key) cache_.put(*key, now);
  return key;
}

core::Result<std::vector<PatientKey>> PatientKeyring::all_newest_first(std::string_view patient) {
  MEDLEDGER_TRY_ASSIGN(auto stored, detail::load_patient_key_file(node_.dir, patient));
  std::vector<PatientKey> keys;
  for (auto it = stored.rbegin(); it != stored.rend(); ++it) {
    MEDLEDGER_TRY_ASSIGN(auto key, unwrap_patient_key(*node_.encryption, *it));
    keys.push_back(std::move(key));
  }
  return keys;
}

core::Result<void> PatientKeyring::store(const PatientKey& key) {
  MEDLEDGER_TRY_ASSIGN(auto wrapped,
                       wrap_patient_key_for(node_.encryption->public_key_spki(), key));
  std::lock_guard<std::mutex> guard(file_mutex_);
  MEDLEDGER_TRY(detail::append_patient_key_file(node_.dir, wrapped));
  // A concurrent writer's older version can no longer replace it in the cache.
  cache_.put(key, PatientKeyCache::Clock::now());
  return core::success();
}

core::Result<void> PatientKeyring::forget(std::string_view patient) {
  std::lock_guard<std::mutex> guard(file_mutex_);
  cache_.invalidate(patient);
  return detail::remove_patient_key_file(node_.dir, patient);
}

core::Result<std::vector<boost::json::object>> PatientKeyring::wrap_for_hospital(
    const ledger::StateView& state, std::string_view hospital_id,
    const std::vector<const PatientKey*>& keys) const {
  std::vector<boost::json::object> out;
  MEDLEDGER_TRY_ASSIGN(
      auto fingerprints,
      ledger::person_certificates(state, ledger::principal(hospital_id, kNodeEncryptionId)));
  const std::int64_t now_s = node_.now_ms() / 1000;
  for (const auto& fp : fingerprints) {
    MEDLEDGER_TRY_ASSIGN(auto entry, ledger::find_certificate(state, fp));
    if (!entry || entry->status != "valid" || entry->role != "node" || entry->not_after <= now_s)
      continue;
    MEDLEDGER_TRY_ASSIGN(auto cert, ca::Certificate::from_der(entry->der));
    for (const PatientKey* key : keys) {
      if (out.size() == ledger::kMaxWrappedKeys) return out;  // the contract's bound
      MEDLEDGER_TRY_ASSIGN(auto wrapped, wrap_patient_key_for(cert.public_key_spki(), *key));
      out.push_back(wrapped.to_json());
    }
  }
  MEDLEDGER_ASSERT(out.size() <= ledger::kMaxWrappedKeys);
  return out;
}

core::Result<PatientKey> PatientKeyring::for_reading(const ledger::StateView& state,
                                                     const ledger::RecordEntry& record,
                                                     std::uint64_t key_version,
                                                     std::string_view basis) {
  const core::Digest mine = core::sha256(node_.encryption->public_key_spki());
  const core::Bytes recipient(mine.begin(), mine.end());
  auto usable = [&](const WrappedPatientKey& w) {
    return w.patient_id == record.owner && w.key_version == key_version && w.recipient == recipient;
  };
  // The current key is usually held unwrapped (sealing put it there).
  if (auto cached = cache_.get(record.owner, PatientKeyCache::Clock::now());
      cached && cached->version == key_version) {
    return std::move(*cached);
  }
  MEDLEDGER_TRY_ASSIGN(auto local, detail::load_patient_key_file(node_.dir, record.owner));
  for (const auto& w : local) {
    if (usable(w)) return unwrap_patient_key(*node_.encryption, w);
  }
  std::vector<boost::json::object> candidates;
  constexpr std::string_view kGrantBasis = "grant:";
  if (basis.starts_with(kGrantBasis)) {
    MEDLEDGER_TRY_ASSIGN(auto grant,
                         ledger::find_grant(state, record.owner, basis.substr(kGrantBasis.size())));
    if (grant) candidates = grant->wrapped_keys;
  }
  MEDLEDGER_TRY_ASSIGN(auto rotated, ledger::latest_patient_key(state, record.owner));
  if (rotated)
    candidates.insert(candidates.end(), rotated->wrapped_keys.begin(), rotated->wrapped_keys.end());
  for (const auto& object : candidates) {
    auto w = WrappedPatientKey::from_json(object);
    if (w && usable(*w)) return unwrap_patient_key(*node_.encryption, *w);
  }
  return core::make_error(ErrorCode::kDecryptionFailed,
                          "no key of version " + std::to_string(key_version) + " of " +
                              record.owner + " is wrapped for this node");
}

}  // namespace medledger::node
