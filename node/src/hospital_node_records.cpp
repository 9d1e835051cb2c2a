// HospitalNode: storing records (sealed, dual-signed, endorsed) and reading them
// (grant checked on current state, decrypted, audited with record.read).
#include <algorithm>

#include <openssl/crypto.h>

#include "hospital_node_internal.h"
#include "medledger/core/error.h"
#include "medledger/core/sha256.h"
#include "medledger/ledger/records_state.h"

namespace medledger::node {

using core::ErrorCode;

core::Result<PreparedTransaction> HospitalNode::prepare_record_put(
    const RecordPutRequest& request) {
  auto patient = persons_.find(request.patient);
  if (!patient) return patient.error();
  if (patient->role != ca::Role::kPatient) {
    return core::make_error(ErrorCode::kCertificateWrongRole,
                            request.patient + " is not a patient");
  }
  ledger::RecordPutBody body;
  body.record = request.record_id;
  body.patient = request.patient;
  body.content_type = request.content_type;
  {
    auto state = ledger::StateSnapshot::open(ledger_.ledger().store());
    if (!state) return state.error();
    auto existing = ledger::find_record(**state, request.record_id);
    if (!existing) return existing.error();
    if (*existing) {
      if ((*existing)->owner != request.patient) {
        return core::make_error(ErrorCode::kRecordNotOwner,
                                "record " + request.record_id + " belongs to another patient");
      }
      body.version = (*existing)->latest + 1;
      body.previous = (*existing)->latest_tx;
    }
  }
  auto key = current_patient_key(request.patient);
  if (!key) return key.error();
  RecordLimits limits;
  limits.max_payload = config_.max_payload;
  auto sealed =
      seal_record({request.patient, request.record_id, body.version, request.content_type},
                  request.payload, *key, limits);
  if (!sealed) return sealed.error();
  body.envelope = sealed->to_json();  // built once: digest() would build it again
  body.envelope_digest = sealed_record_digest(*body.envelope);
  body.plaintext_digest = core::sha256(request.payload);
  PreparedTransaction out;
  out.tx = new_transaction(ledger::kTxRecordPut, ledger::make_record_put_body(body));
  out.tx_id = ledger::tx_id(out.tx);
  return out;
}

core::Result<ledger::Receipt> HospitalNode::put_record(const RecordPutRequest& request,
                                                       const core::SecretBytes& doctor_pin,
                                                       const core::SecretBytes& patient_pin) {
  return put_record(request, PersonCredential::pin(doctor_pin.clone()),
                    PersonCredential::pin(patient_pin.clone()));
}

core::Result<ledger::Receipt> HospitalNode::put_record(const RecordPutRequest& request,
                                                       const PersonCredential& doctor,
                                                       const PersonCredential& patient) {
  auto pending = put_record_async(request, doctor, patient);
  if (!pending) return pending.error();
  return pending->wait();
}

core::Result<PendingCommit> HospitalNode::put_record_async(const RecordPutRequest& request,
                                                           const PersonCredential& doctor,
                                                           const PersonCredential& patient) {
  auto prepared = prepare_record_put(request);
  if (!prepared) return prepared.error();
  MEDLEDGER_TRY(sign_as(prepared->tx, prepared->tx_id, request.doctor, doctor));
  MEDLEDGER_TRY(sign_as(prepared->tx, prepared->tx_id, request.patient, patient));
  return endorse_and_submit_async(std::move(prepared->tx), prepared->tx_id);
}

core::Result<std::string> HospitalNode::authorise_read(const ledger::StateView& state,
                                                       const ledger::RecordEntry& record,
                                                       std::string_view doctor) const {
  const std::string_view doctor_hospital = detail::hospital_of(doctor);
  if (doctor_hospital == record.hospital) return std::string("own-hospital");
  // The same order as the contract: the doctor's own grant, then the hospital's.
  bool expired = false;
  bool revoked = false;
  for (std::string_view grantee : {doctor, doctor_hospital}) {
    auto grant = ledger::find_grant(state, record.owner, grantee);
    if (!grant) return grant.error();
    if (!*grant) continue;
    const auto& g = **grant;
    if (!g.scope.empty() && std::find(g.scope.begin(), g.scope.end(), record.id) == g.scope.end())
      continue;
    if (g.status != "active") {
      revoked = true;
    } else if (g.expires_ms && *g.expires_ms <= now_ms()) {
      expired = true;
    } else {
      return "grant:" + std::string(grantee);
    }
  }
  const std::string who = std::string(doctor) + " may not read " + record.id;
  if (expired) return core::make_error(ErrorCode::kGrantExpired, who + ": the grant has expired");
  if (revoked)
    return core::make_error(ErrorCode::kGrantRevoked, who + ": the patient revoked the grant");
  return core::make_error(ErrorCode::kReadNotAuthorized, who + ": no grant from the patient");
}

core::Result<PatientKey> HospitalNode::find_reading_key(const ledger::StateView& state,
                                                        const ledger::RecordEntry& record,
                                                        std::uint64_t key_version,
                                                        std::string_view basis) {
  const core::Digest mine = core::sha256(keys_->encryption->public_key_spki());
  const core::Bytes recipient(mine.begin(), mine.end());
  auto usable = [&](const WrappedPatientKey& w) {
    return w.patient_id == record.owner && w.key_version == key_version && w.recipient == recipient;
  };
  // The current key is usually held unwrapped (sealing put it there).
  if (auto cached = patient_key_cache_.get(record.owner, PatientKeyCache::Clock::now());
      cached && cached->version == key_version) {
    return std::move(*cached);
  }
  auto local = detail::load_patient_key_file(dir_, record.owner);
  if (!local) return local.error();
  for (const auto& w : *local) {
    if (usable(w)) return unwrap_patient_key(*keys_->encryption, w);
  }
  std::vector<boost::json::object> candidates;
  constexpr std::string_view kGrantBasis = "grant:";
  if (basis.starts_with(kGrantBasis)) {
    auto grant = ledger::find_grant(state, record.owner, basis.substr(kGrantBasis.size()));
    if (!grant) return grant.error();
    if (*grant) candidates = (*grant)->wrapped_keys;
  }
  auto rotated = ledger::latest_patient_key(state, record.owner);
  if (!rotated) return rotated.error();
  if (*rotated)
    candidates.insert(candidates.end(), (*rotated)->wrapped_keys.begin(),
                      (*rotated)->wrapped_keys.end());
  for (const auto& object : candidates) {
    auto w = WrappedPatientKey::from_json(object);
    if (w && usable(*w)) return unwrap_patient_key(*keys_->encryption, *w);
  }
  return core::make_error(ErrorCode::kDecryptionFailed,
                          "no key of version " + std::to_string(key_version) + " of " +
                              record.owner + " is wrapped for this node");
}

core::Result<RecordRead> HospitalNode::read_record(const ReadRequest& request,
                                                   const core::SecretBytes& doctor_pin) {
  return read_record(request, PersonCredential::pin(doctor_pin.clone()));
}

core::Result<RecordRead> PendingRead::wait() {
  auto receipt = audit_.wait();
  if (!receipt) {
    OPENSSL_cleanse(read_.plaintext.data(),
                    read_.plaintext.size());  // never released without its audit entry
    if (on_failure_) on_failure_(receipt.error());
    return receipt.error();
  }
  read_.receipt = std::move(*receipt);
  return std::move(read_);
}

void PendingRead::then(std::function<void(core::Result<RecordRead>)> done) {
  audit_.then([read = std::move(read_), on_failure = std::move(on_failure_),
               done = std::move(done)](core::Result<ledger::Receipt> receipt) mutable {
    if (!receipt) {
      OPENSSL_cleanse(read.plaintext.data(),
                      read.plaintext.size());  // never released without its audit entry
      if (on_failure) on_failure(receipt.error());
      return done(receipt.error());
    }
    read.receipt = std::move(*receipt);
    done(std::move(read));
  });
}

core::Result<RecordRead> HospitalNode::read_record(const ReadRequest& request,
                                                   const PersonCredential& doctor_credential) {
  auto pending = read_record_async(request, doctor_credential);
  if (!pending) return pending.error();
  return pending->wait();
}

core::Result<PendingRead> HospitalNode::read_record_async(
    const ReadRequest& request, const PersonCredential& doctor_credential) {
  auto doctor = persons_.find(request.doctor);
  if (!doctor) return doctor.error();
  if (doctor->role != ca::Role::kDoctor) {
    return core::make_error(ErrorCode::kCertificateWrongRole, request.doctor + " is not a doctor");
  }
  RecordRead out;
  std::uint64_t version = 0;
  {
    auto state = ledger::StateSnapshot::open(ledger_.ledger().store());
    if (!state) return state.error();
    auto record = ledger::find_record(**state, request.record_id);
    if (!record) return record.error();
    if (!*record) {
      auto missing = core::make_error(ErrorCode::kRecordNotFound, "no record " + request.record_id);
      refuse(request, missing);
      return missing;
    }
    auto basis = authorise_read(**state, **record, request.doctor);
    if (!basis) {
      refuse(request, basis.error());
      return basis.error();
    }
    out.basis = *basis;
    // The credential before any decryption: a wrong PIN learns nothing about the record.
    if (auto pin = check_credential(request.doctor, doctor_credential); !pin) {
      refuse(request, pin.error());
      return pin.error();
    }
    version = request.version.value_or((*record)->latest);
    auto entry = ledger::find_record_version(**state, request.record_id, version);
    if (!entry) return entry.error();
    if (!*entry)
      return core::make_error(
          ErrorCode::kRecordNotFound,
          "record " + request.record_id + " has no version " + std::to_string(version));
    if (!(*entry)->envelope) {
      return core::make_error(ErrorCode::kNotFound,
                              "the envelope of this version is not on the ledger");
    }
    auto sealed = SealedRecord::from_json(*(*entry)->envelope);
    if (!sealed) return sealed.error();
    if (sealed->digest() != (*entry)->envelope_digest) {
      return core::make_error(ErrorCode::kDecryptionFailed,
                              "the stored envelope does not match its digest");
    }
    auto key = find_reading_key(**state, **record, sealed->patient_key_version, out.basis);
    if (!key) return key.error();
    RecordLimits limits;
    limits.max_payload = config_.max_payload;
    auto plain = open_record(*sealed, *key, limits);
    if (!plain) return plain.error();
    if (core::sha256(*plain) != (*entry)->plaintext_digest) {
      return core::make_error(ErrorCode::kDecryptionFailed,
                              "the decrypted payload does not match its digest");
    }
    out.plaintext = std::move(*plain);
    out.content_type = sealed->context.content_type;
    out.version = version;
  }
  // The audit entry: the plaintext is returned only once the read is on the ledger.
  auto tx =
      new_transaction(ledger::kTxRecordRead,
                      ledger::make_record_read_body({request.record_id, version, request.purpose}));
  auto key = custodial_key(request.doctor);
  if (!key) return key.error();
  const core::Digest id = ledger::tx_id(tx);
  MEDLEDGER_TRY(ledger::add_signature(tx, id, *(*key)->signer, (*key)->fingerprint));
  auto audit = endorse_and_submit_async(std::move(tx), id);
  if (!audit) {
    refuse(request, audit.error());
    return audit.error();
  }
  return PendingRead(std::move(out), std::move(*audit),
                     [this, request](const core::Error& reason) { refuse(request, reason); });
}

core::Result<std::vector<ledger::RecordEntry>> HospitalNode::list_records(
    std::string_view patient) const {
  auto state = ledger::StateSnapshot::open(ledger_.ledger().store());
  if (!state) return state.error();
  auto ids = ledger::patient_records(**state, patient);
  if (!ids) return ids.error();
  std::vector<ledger::RecordEntry> out;
  for (const auto& id : *ids) {
    auto record = ledger::find_record(**state, id);
    if (!record) return record.error();
    if (*record) out.push_back(std::move(**record));
  }
  return out;
}

core::Result<std::vector<ledger::RecordVersionEntry>> HospitalNode::record_history(
    std::string_view record_id) const {
  auto state = ledger::StateSnapshot::open(ledger_.ledger().store());
  if (!state) return state.error();
  auto record = ledger::find_record(**state, record_id);
  if (!record) return record.error();
  if (!*record)
    return core::make_error(ErrorCode::kRecordNotFound, "no record " + std::string(record_id));
  std::vector<ledger::RecordVersionEntry> out;
  for (std::uint64_t v = 1; v <= (*record)->latest; ++v) {
    auto entry = ledger::find_record_version(**state, record_id, v);
    if (!entry) return entry.error();
    if (*entry) out.push_back(std::move(**entry));
  }
  return out;
}

}  // namespace medledger::node
