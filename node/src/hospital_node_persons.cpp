// HospitalNode: enrolment, PINs and the signatures persons give (custodial after
// their PIN, or made elsewhere and checked here).
#include <algorithm>
#include <ctime>
#include <optional>

#include "hospital_node_internal.h"
#include "medledger/ca/revocation.h"
#include "medledger/core/error.h"
#include "medledger/hsm/key_store.h"
#include "medledger/ledger/records_state.h"

namespace medledger::node {

using core::ErrorCode;

// Undoes a half-done enrolment when enrol() returns early: a certificate
// registered on the ledger is revoked there (cessationOfOperation) and in the CA
// directory, the PIN record and patient-key file are deleted, a token key is
// destroyed -- so a retry starts clean and nothing usable is left behind. Best
// effort: enrol() returns the original error whatever happens here.
struct HospitalNode::EnrolmentUndo {
  EnrolmentUndo(HospitalNode& undoing, const PersonEntry& enrolling)
      : node(undoing), person(enrolling) {}
  EnrolmentUndo(const EnrolmentUndo&) = delete;
  EnrolmentUndo& operator=(const EnrolmentUndo&) = delete;

  HospitalNode& node;
  const PersonEntry& person;
  // Of the certificate, once issued (copies: the certificate itself dies first).
  std::optional<core::Digest> issued_fingerprint;
  std::string issued_serial_hex;
  bool registered = false;
  bool pin_stored = false;
  bool done = false;

  ~EnrolmentUndo() {
    if (done) return;
    const std::string& principal = person.principal;
    if (pin_stored) (void)node.pins_->remove(principal);
    if (person.role == ca::Role::kPatient) {
      std::lock_guard<std::mutex> guard(node.patient_keys_mutex_);
      (void)detail::remove_patient_key_file(node.dir_, principal);
      node.patient_key_cache_.invalidate(principal);
    }
    if (registered) {
      (void)node.submit_ca_signed(
          node.new_transaction(
              ledger::kTxCertRevoke,
              ledger::make_cert_revoke_body(
                  *issued_fingerprint,
                  ca::revocation_reason_name(ca::RevocationReason::kCessationOfOperation))),
          "cert.revoke of the failed enrolment of " + principal);
    }
    if (issued_fingerprint) {
      std::lock_guard<std::mutex> guard(node.ca_mutex_);
      (void)node.keys_->ca_store->mark_revoked(
          {issued_serial_hex, std::time(nullptr), ca::RevocationReason::kCessationOfOperation});
    }
    if (!person.key_id.empty()) (void)hsm::KeyStore(node.pool_).destroy(person.key_id);
  }
};

core::Result<Enrolment> HospitalNode::enrol(const EnrolRequest& request) {
  if (request.role != ca::Role::kDoctor && request.role != ca::Role::kPatient &&
      request.role != ca::Role::kAuditor) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "only doctors, patients and auditors are enrolled");
  }
  if (!ca::is_valid_identifier(request.id) || request.id == config_.node_id ||
      request.id == kNodeEncryptionId) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "person id must be 1-64 of [A-Za-z0-9._-] and not a node id: '" + request.id + "'");
  }
  if (request.pin.size() < kMinPinBytes || request.pin.size() > kMaxPinBytes) {
    return core::make_error(ErrorCode::kInvalidArgument, "the person's PIN must be 4 to 64 bytes");
  }
  const std::string principal = ledger::principal(config_.hospital_id, request.id);
  // One enrolment per principal at a time: a second concurrent one would make a
  // second key and register a second certificate before failing.
  {
    std::lock_guard<std::mutex> guard(enrolling_mutex_);
    if (persons_.contains(principal) || !enrolling_.insert(principal).second) {
      return core::make_error(ErrorCode::kAlreadyExists,
                              principal + " is enrolled at this node already");
    }
  }
  struct Release {
    HospitalNode& node;
    const std::string& principal;
    ~Release() {
      std::lock_guard<std::mutex> guard(node.enrolling_mutex_);
      node.enrolling_.erase(principal);
    }
  } release{*this, principal};

  // Everything that can fail without side effects comes first: the PIN's scrypt
  // and the patient key are made before any key, certificate or ledger entry.
  auto pin_record = make_pin_record(principal, request.pin, options_.scrypt);
  if (!pin_record) return pin_record.error();
  std::optional<PatientKey> patient_key;
  if (request.role == ca::Role::kPatient) {
    auto key = generate_patient_key(principal, 1);
    if (!key) return key.error();
    patient_key = std::move(*key);
  }

  PersonEntry person;
  person.principal = principal;
  person.id = request.id;
  person.role = request.role;
  core::Bytes spki;
  if (request.external_public_key) {
    spki = *request.external_public_key;  // the CA checks it parses and fits the profile
  } else if (config_.person_keys == PersonKeyStorage::kWrapped) {
    auto blob = keys_->wrapped->generate(core::KeyAlgorithm::kEcdsaP256);
    if (!blob) return blob.error();
    auto decoded = hsm::decode_wrapped_key(*blob);
    if (!decoded) return decoded.error();
    person.wrapped = true;
    person.wrapped_blob = std::move(*blob);
    spki = decoded->public_key_spki;
  } else {
    hsm::KeyStore keys(pool_);
    auto key = keys.generate({detail::person_key_label(principal), core::KeyAlgorithm::kEcdsaP256});
    if (!key) return key.error();
    person.key_id = key->id;
    spki = key->public_key_spki;
  }
  // Until the person is stored, a failure undoes what was made (best effort; the
  // error returned is always the original one).
  EnrolmentUndo undo(*this, person);

  ca::IssueRequest issue;
  issue.role = request.role;
  issue.subject_id = request.id;
  core::Result<ca::Certificate> cert = core::make_error(ErrorCode::kInternal, "not issued");
  {
    std::lock_guard<std::mutex> guard(ca_mutex_);
    cert = keys_->authority->issue_for_key(spki, issue, std::time(nullptr));
    if (!cert) return cert.error();
    MEDLEDGER_TRY(keys_->ca_store->record_issued(*cert, request.role));
  }
  undo.issued_fingerprint = ledger::certificate_fingerprint(*cert);
  undo.issued_serial_hex = cert->serial_hex();
  person.cert_pem = cert->to_pem();

  auto receipt = submit_ca_signed(
      new_transaction(ledger::kTxCertRegister, ledger::make_cert_register_body(*cert)),
      "cert.register of " + principal);
  if (!receipt) return receipt.error();
  undo.registered = true;
  // The ledger knows the person now; the PIN verifier, the patient key and the
  // directory entry make them usable here.
  MEDLEDGER_TRY(pins_->enrol_record(*pin_record));
  undo.pin_stored = true;
  if (patient_key) MEDLEDGER_TRY(store_patient_key(*patient_key));
  MEDLEDGER_TRY(persons_.add(person));
  undo.done = true;
  const core::Digest fingerprint = ledger::certificate_fingerprint(*cert);
  return Enrolment{principal, std::move(*cert), fingerprint, std::move(*receipt)};
}

core::Result<PersonEntry> HospitalNode::person(std::string_view principal) const {
  return persons_.find(principal);
}

core::Result<void> HospitalNode::check_pin(std::string_view principal,
                                           const core::SecretBytes& pin) {
  return pins_->verify(std::string(principal), pin, now_ms() / 1000);
}

core::Result<void> HospitalNode::check_credential(std::string_view principal,
                                                  const PersonCredential& credential) {
  if (credential.kind() == PersonCredential::Kind::kSessionToken)
    return sessions_.use(principal, credential.secret());
  return check_pin(principal, credential.secret());
}

core::Result<PersonSession> HospitalNode::open_session(std::string_view principal,
                                                       const core::SecretBytes& pin,
                                                       std::chrono::seconds ttl,
                                                       std::uint32_t signatures) {
  MEDLEDGER_TRY(check_session_limits(ttl, signatures));  // before the scrypt
  auto person = persons_.find(principal);
  if (!person) return person.error();
  if (person->external()) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        person->principal + " keeps their own key: the node never signs for them");
  }
  MEDLEDGER_TRY(check_pin(principal, pin));
  return sessions_.open(person->principal, ttl, signatures);
}

core::Result<void> HospitalNode::close_session(const core::SecretBytes& token) {
  return sessions_.close(token);
}

core::Result<std::shared_ptr<const HospitalNode::CustodialKey>> HospitalNode::custodial_key(
    std::string_view principal) {
  {
    std::lock_guard<std::mutex> guard(custodial_mutex_);
    auto it = custodial_keys_.find(principal);
    if (it != custodial_keys_.end()) return it->second;
  }
  // A miss costs a person-file read, a certificate parse and a token lookup of
  // the key; persons are never rewritten, so an entry never goes stale.
  auto person = persons_.find(principal);
  if (!person) return person.error();
  auto cert = ca::Certificate::from_pem(person->cert_pem);
  if (!cert) return cert.error();
  auto signer = person_signer(*person);
  if (!signer) return signer.error();
  auto key = std::make_shared<const CustodialKey>(
      CustodialKey{std::move(*signer), ledger::certificate_fingerprint(*cert)});
  std::lock_guard<std::mutex> guard(custodial_mutex_);
  if (custodial_keys_.size() >= kMaxCachedCustodialKeys)
    custodial_keys_.clear();  // rare: start over, stay bounded
  custodial_keys_.emplace(person->principal, key);
  return key;
}

core::Result<std::shared_ptr<core::Signer>> HospitalNode::person_signer(const PersonEntry& person) {
  if (person.external()) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        person.principal + " keeps their own key: bring their signature (external signing)");
  }
  if (person.wrapped) {
    if (!keys_->wrapped) {
      return core::make_error(ErrorCode::kConfigInvalid,
                              person.principal + " has a wrapped key but no KEK is configured");
    }
    auto signer = keys_->wrapped->signer(person.wrapped_blob);
    if (!signer) return signer.error();
    return std::shared_ptr<core::Signer>(std::move(*signer));
  }
  hsm::KeyStore keys(pool_);
  auto signer = keys.signer(person.key_id);
  if (!signer) return signer.error();
  return std::shared_ptr<core::Signer>(std::move(*signer));
}

core::Result<void> HospitalNode::sign_as(ledger::Transaction& tx, std::string_view principal,
                                         const core::SecretBytes& pin) {
  return sign_as(tx, principal, PersonCredential::pin(pin.clone()));
}

core::Result<void> HospitalNode::sign_as(ledger::Transaction& tx, std::string_view principal,
                                         const PersonCredential& credential) {
  return sign_as(tx, ledger::tx_id(tx), principal, credential);
}

core::Result<void> HospitalNode::sign_as(ledger::Transaction& tx, const core::Digest& id,
                                         std::string_view principal,
                                         const PersonCredential& credential) {
  auto key = custodial_key(principal);
  if (!key) return key.error();
  MEDLEDGER_TRY(check_credential(
      principal, credential));  // before signing: nothing for a wrong PIN or a dead session
  return ledger::add_signature(tx, id, *(*key)->signer, (*key)->fingerprint);
}

core::Result<DigestSignature> HospitalNode::sign_digest_as(std::string_view principal,
                                                           const core::SecretBytes& pin,
                                                           const core::Digest& digest) {
  return sign_digest_as(principal, PersonCredential::pin(pin.clone()), digest);
}

core::Result<DigestSignature> HospitalNode::sign_digest_as(std::string_view principal,
                                                           const PersonCredential& credential,
                                                           const core::Digest& digest) {
  auto key = custodial_key(principal);
  if (!key) return key.error();
  MEDLEDGER_TRY(check_credential(principal, credential));
  auto signature = (*key)->signer->sign_digest(digest);
  if (!signature) return signature.error();
  return DigestSignature{std::move(*signature), (*key)->signer->algorithm(), (*key)->fingerprint};
}

core::Result<void> HospitalNode::add_external_signature(
    ledger::Transaction& tx, const ledger::TransactionSignature& signature) {
  for (const auto& existing : tx.signatures) {
    if (existing.cert_fingerprint == signature.cert_fingerprint) {
      return core::make_error(ErrorCode::kAlreadyExists, "this certificate has signed already");
    }
  }
  core::Bytes spki;
  {
    std::lock_guard<std::mutex> guard(external_keys_mutex_);
    if (auto it = external_keys_.find(signature.cert_fingerprint); it != external_keys_.end())
      spki = it->second;
  }
  if (spki.empty()) {
    auto state = ledger::StateSnapshot::open(ledger_.ledger().store());
    if (!state) return state.error();
    auto entry = ledger::find_certificate(**state, signature.cert_fingerprint);
    if (!entry) return entry.error();
    if (!*entry) {
      return core::make_error(ErrorCode::kCertNotOnLedger,
                              "the signature names a certificate the ledger does not hold");
    }
    auto cert = ca::Certificate::from_der((*entry)->der);
    if (!cert) return cert.error();
    spki = cert->public_key_spki();
    std::lock_guard<std::mutex> guard(external_keys_mutex_);
    if (external_keys_.size() >= kMaxCachedCustodialKeys)
      external_keys_.clear();  // rare: start over, stay bounded
    external_keys_.emplace(signature.cert_fingerprint, spki);
  }
  tx.signatures.push_back(signature);
  auto verified = ledger::verify_signature(tx, tx.signatures.size() - 1, spki);
  if (!verified) {
    tx.signatures.pop_back();
    return verified.error();
  }
  return core::success();
}

void HospitalNode::refuse(const ReadRequest& request, const core::Error& reason) const {
  if (options_.on_refused_read)
    options_.on_refused_read({request.doctor, request.record_id, request.purpose, reason});
}

}  // namespace medledger::node
