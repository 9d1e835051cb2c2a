// node::Persons: enrolment (with its undo), lookup, revocation.
#include "medledger/node/persons.h"

#include <optional>

#include "custody.h"
#include "hospital_ca.h"
#include "medledger/core/assert.h"
#include "medledger/core/error.h"
#include "medledger/hsm/key_store.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/records_state.h"
#include "medledger/node/pin_verifier.h"
#include "node_context.h"
#include "patient_keyring.h"

namespace medledger::node {

using core::ErrorCode;

// Undoes a half-done enrolment when enrol() returns early: a certificate
// registered on the ledger is revoked there (cessationOfOperation) and in the CA
// directory, the PIN record and patient-key file are deleted, a token key is
// destroyed -- so a retry starts clean and nothing usable is left behind. Best
// effort: enrol() returns the original error whatever happens here.
struct Persons::Undo {
  Undo(Persons& persons, const PersonEntry& enrolling) : owner(persons), person(enrolling) {}
  Undo(const Undo&) = delete;
  Undo& operator=(const Undo&) = delete;

  Persons& owner;
  const PersonEntry& person;
  // Of the certificate, once issued (copies: the certificate itself dies first).
  std::optional<core::Digest> issued_fingerprint;
  std::string issued_serial_hex;
  bool registered = false;
  bool pin_stored = false;
  bool done = false;

  ~Undo() {
    if (done) return;
    const std::string& principal = person.principal;
    if (pin_stored) (void)owner.custody_.remove_pin(principal);
    if (person.role == ca::Role::kPatient) (void)owner.keys_.forget(principal);
    if (registered) {
      MEDLEDGER_ASSERT(issued_fingerprint.has_value());
      (void)owner.ca_.submit(
          owner.node_,
          owner.node_.new_transaction(
              ledger::kTxCertRevoke,
              ledger::make_cert_revoke_body(
                  *issued_fingerprint,
                  ca::revocation_reason_name(ca::RevocationReason::kCessationOfOperation))),
          "cert.revoke of the failed enrolment of " + principal);
    }
    if (issued_fingerprint)
      (void)owner.ca_.mark_revoked(issued_serial_hex, ca::RevocationReason::kCessationOfOperation);
    if (!person.key_id.empty()) (void)hsm::KeyStore(owner.node_.pool).destroy(person.key_id);
  }

  // What a crash in the middle of enrol() left behind: the process died before the
  // destructor above could run, so the principal is not in the directory, yet the token
  // may hold its key, the ledger an unrevoked certificate, custody a PIN record and the
  // keyring a patient key. Cleared the same way before the next enrolment of the
  // principal, so that a retry succeeds instead of finding the key label taken.
  static core::Result<void> clear_interrupted(Persons& owner, const std::string& principal) {
    std::vector<ledger::CertificateEntry> registered;
    {
      MEDLEDGER_TRY_ASSIGN(auto state, owner.node_.snapshot());
      MEDLEDGER_TRY_ASSIGN(auto fingerprints, ledger::person_certificates(*state, principal));
      for (const auto& fingerprint : fingerprints) {
        MEDLEDGER_TRY_ASSIGN(auto entry, ledger::find_certificate(*state, fingerprint));
        if (entry && entry->status != "revoked") registered.push_back(std::move(*entry));
      }
    }
    const auto reason = ca::RevocationReason::kCessationOfOperation;
    for (const auto& entry : registered) {
      MEDLEDGER_TRY(owner.ca_.submit(
          owner.node_,
          owner.node_.new_transaction(
              ledger::kTxCertRevoke,
              ledger::make_cert_revoke_body(entry.fingerprint, ca::revocation_reason_name(reason))),
          "cert.revoke of the interrupted enrolment of " + principal));
      if (auto cert = ca::Certificate::from_der(entry.der))
        (void)owner.ca_.mark_revoked(cert->serial_hex(), reason);
    }
    // Absent files are the usual case: these only remove what a crash left.
    (void)owner.custody_.remove_pin(principal);
    (void)owner.keys_.forget(principal);
    hsm::KeyStore keys(owner.node_.pool);
    auto orphan = keys.find_by_label(detail::person_key_label(principal));
    if (orphan) return keys.destroy(orphan->id);
    if (orphan.error().code != ErrorCode::kKeyNotFound) return orphan.error();
    return core::success();
  }
};

// One enrolment per principal at a time: a second concurrent one would make a
// second key and register a second certificate before failing.
struct Persons::Claim {
  Persons& owner;
  const std::string& principal;
  ~Claim() {
    std::lock_guard<std::mutex> guard(owner.enrolling_mutex_);
    owner.enrolling_.erase(principal);
  }
};

namespace {

core::Result<void> check_enrol_request(const EnrolRequest& request, const NodeConfig& config) {
  if (request.role != ca::Role::kDoctor && request.role != ca::Role::kPatient &&
      request.role != ca::Role::kAuditor) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "only doctors, patients and auditors are enrolled");
  }
  if (!ca::is_valid_identifier(request.id) || request.id == config.node_id ||
      request.id == kNodeEncryptionId) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "person id must be 1-64 of [A-Za-z0-9._-] and not a node id: '" + request.id + "'");
  }
  // A person who keeps their own key signs on their device: the node needs no PIN.
  const bool pin_optional = request.external_public_key.has_value() && request.pin.empty();
  if (!pin_optional && (request.pin.size() < kMinPinBytes || request.pin.size() > kMaxPinBytes)) {
    return core::make_error(ErrorCode::kInvalidArgument, "the person's PIN must be 4 to 64 bytes");
  }
  return core::success();
}

}  // namespace

core::Result<core::Bytes> Persons::make_key(const EnrolRequest& request, PersonEntry& person) {
  if (request.external_public_key)
    return *request.external_public_key;  // the CA checks it parses and fits the profile
  if (node_.config.person_keys == PersonKeyStorage::kWrapped) {
    MEDLEDGER_TRY_ASSIGN(auto blob, node_.wrapped->generate(core::KeyAlgorithm::kEcdsaP256));
    MEDLEDGER_TRY_ASSIGN(auto decoded, hsm::decode_wrapped_key(blob));
    person.wrapped = true;
    person.wrapped_blob = std::move(blob);
    return decoded.public_key_spki;
  }
  hsm::KeyStore keys(node_.pool);
  MEDLEDGER_TRY_ASSIGN(auto key, keys.generate({detail::person_key_label(person.principal),
                                                core::KeyAlgorithm::kEcdsaP256}));
  person.key_id = key.id;
  return key.public_key_spki;
}

core::Result<Enrolment> Persons::enrol(const EnrolRequest& request) {
  MEDLEDGER_TRY(check_enrol_request(request, node_.config));
  const std::string principal = ledger::principal(node_.config.hospital_id, request.id);
  {
    std::lock_guard<std::mutex> guard(enrolling_mutex_);
    if (node_.persons.contains(principal) || !enrolling_.insert(principal).second) {
      return core::make_error(ErrorCode::kAlreadyExists,
                              principal + " is enrolled at this node already");
    }
  }
  Claim claim{*this, principal};
  MEDLEDGER_TRY(Undo::clear_interrupted(*this, principal));

  // Everything that can fail without side effects comes first: the PIN's scrypt
  // and the patient key are made before any key, certificate or ledger entry.
  std::optional<PinRecord> pin_record;
  if (!request.pin.empty()) {
    MEDLEDGER_TRY_ASSIGN(pin_record, make_pin_record(principal, request.pin, node_.options.scrypt));
  }
  std::optional<PatientKey> patient_key;
  if (request.role == ca::Role::kPatient) {
    MEDLEDGER_TRY_ASSIGN(patient_key, generate_patient_key(principal, 1));
  }
  PersonEntry person;
  person.principal = principal;
  person.id = request.id;
  person.role = request.role;
  MEDLEDGER_TRY_ASSIGN(auto spki, make_key(request, person));
  // Until the person is stored, a failure undoes what was made (best effort; the
  // error returned is always the original one).
  Undo undo(*this, person);

  ca::IssueRequest issue;
  issue.role = request.role;
  issue.subject_id = request.id;
  MEDLEDGER_TRY_ASSIGN(auto cert, ca_.issue_for_key(spki, issue));
  const core::Digest fingerprint = ledger::certificate_fingerprint(cert);
  undo.issued_fingerprint = fingerprint;
  undo.issued_serial_hex = cert.serial_hex();
  person.cert_pem = cert.to_pem();
  MEDLEDGER_TRY_ASSIGN(auto receipt,
                       ca_.register_certificate(node_, cert, "cert.register of " + principal));
  undo.registered = true;
  // The ledger knows the person now; the PIN verifier, the patient key and the
  // directory entry make them usable here.
  if (pin_record) {
    MEDLEDGER_TRY(custody_.enrol_pin(*pin_record));
    undo.pin_stored = true;
  }
  if (patient_key) MEDLEDGER_TRY(keys_.store(*patient_key));
  MEDLEDGER_TRY(node_.persons.add(person));
  undo.done = true;
  return Enrolment{principal, std::move(cert), fingerprint, std::move(receipt)};
}

core::Result<PersonEntry> Persons::find(std::string_view principal) const {
  return node_.persons.find(principal);
}

core::Result<ledger::Receipt> Persons::revoke(std::string_view principal, std::string_view reason) {
  MEDLEDGER_TRY_ASSIGN(auto person, node_.persons.find(principal));
  MEDLEDGER_TRY_ASSIGN(auto parsed, final_revocation_reason(reason));
  MEDLEDGER_TRY_ASSIGN(auto cert, ca::Certificate::from_pem(person.cert_pem));
  return revoke_enrolled(node_, custody_, ca_, person, cert, parsed);
}

}  // namespace medledger::node
