// HospitalNode: what the hospital's administrators do besides enrolment --
// revoke a person, issue a certificate from a CSR, export the CA's CRL from
// ledger state.
#include <map>

#include "hospital_node_internal.h"
#include "medledger/ca/limits.h"
#include "medledger/core/error.h"
#include "medledger/ledger/records_state.h"

namespace medledger::node {

using core::ErrorCode;

namespace {
// An RFC 5280 reason name that a ledger revocation may carry (it is final).
core::Result<ca::RevocationReason> final_revocation_reason(std::string_view reason) {
  auto parsed = ca::parse_revocation_reason(reason);
  if (!parsed) return parsed.error();
  if (*parsed == ca::RevocationReason::kRemoveFromCrl) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "removeFromCRL is no revocation: ledger revocation is final");
  }
  return *parsed;
}
}  // namespace

core::Result<ledger::Receipt> HospitalNode::revoke_person(std::string_view principal,
                                                          std::string_view reason) {
  auto person = persons_.find(principal);
  if (!person) return person.error();
  auto parsed = final_revocation_reason(reason);
  if (!parsed) return parsed.error();
  auto cert = ca::Certificate::from_pem(person->cert_pem);
  if (!cert) return cert.error();
  return revoke_enrolled(*person, *cert, *parsed);
}

core::Result<ledger::Receipt> HospitalNode::revoke_enrolled(const PersonEntry& person,
                                                            const ca::Certificate& cert,
                                                            ca::RevocationReason reason) {
  // Fail closed: from here on the node signs nothing for this person, even if
  // the ledger step below fails and is retried.
  MEDLEDGER_TRY(pins_->lock(person.principal));
  sessions_.close_all_of(person.principal);
  return revoke_issued(cert, reason, person.principal);
}

core::Result<ledger::Receipt> HospitalNode::revoke_certificate(const core::Digest& fingerprint,
                                                               std::string_view reason) {
  auto parsed = final_revocation_reason(reason);
  if (!parsed) return parsed.error();
  std::optional<ledger::CertificateEntry> entry;
  {
    auto state = ledger::StateSnapshot::open(ledger_.ledger().store());
    if (!state) return state.error();
    auto found = ledger::find_certificate(**state, fingerprint);
    if (!found) return found.error();
    entry = std::move(*found);
  }
  if (!entry)
    return core::make_error(ErrorCode::kNotFound,
                            "no certificate with this fingerprint on the ledger");
  const std::string principal = ledger::principal(entry->hospital, entry->id);
  if (entry->hospital != config_.hospital_id) {
    return core::make_error(
        ErrorCode::kRevokeNotAuthorized,
        principal + " was issued by another hospital's CA: only its issuer revokes it");
  }
  if (fingerprint == ledger::certificate_fingerprint(signing_cert_) ||
      fingerprint == ledger::certificate_fingerprint(encryption_cert_)) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "this is the serving node's own certificate: revoke it from another node or offline "
        "(`medledger ca revoke`) once its replacement is registered");
  }
  // An enrolled person's certificate: their custodial key is shut first, as revoke_person does.
  auto person = persons_.find(principal);
  if (person) {
    auto enrolled = ca::Certificate::from_pem(person->cert_pem);
    if (!enrolled) return enrolled.error();  // never revoke an enrolled person without the PIN lock
    if (ledger::certificate_fingerprint(*enrolled) == fingerprint)
      return revoke_enrolled(*person, *enrolled, *parsed);
  } else if (person.error().code != ErrorCode::kNotFound) {
    return person.error();
  }
  auto cert = ca::Certificate::from_der(entry->der);
  if (!cert) return cert.error();
  return revoke_issued(*cert, *parsed, principal);
}

core::Result<ledger::Receipt> HospitalNode::revoke_issued(const ca::Certificate& cert,
                                                          ca::RevocationReason reason,
                                                          const std::string& principal) {
  auto receipt = submit_ca_signed(
      new_transaction(ledger::kTxCertRevoke,
                      ledger::make_cert_revoke_body(ledger::certificate_fingerprint(cert),
                                                    ca::revocation_reason_name(reason))),
      "cert.revoke of " + principal);
  // Already revoked on the ledger: the CA directory (the CRL) is still brought in line.
  if (!receipt && receipt.error().code != ErrorCode::kCertAlreadyRevoked) return receipt.error();
  {
    std::lock_guard<std::mutex> guard(ca_mutex_);
    auto marked = keys_->ca_store->mark_revoked({cert.serial_hex(), std::time(nullptr), reason});
    if (!marked && marked.error().code != ErrorCode::kAlreadyExists) return marked.error();
  }
  return receipt;
}

core::Result<IssuedCertificate> HospitalNode::issue_certificate(std::string_view csr_pem,
                                                                ca::Role role,
                                                                std::string_view id) {
  if (role != ca::Role::kDoctor && role != ca::Role::kPatient && role != ca::Role::kAuditor &&
      role != ca::Role::kAdmin) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "certificates from CSRs are for doctors, patients, auditors and admins; node "
        "certificates come from provisioning");
  }
  if (!ca::is_valid_identifier(id) || id == config_.node_id || id == kNodeEncryptionId) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "subject id must be 1-64 of [A-Za-z0-9._-] and not a node id: '" + std::string(id) + "'");
  }
  auto csr = ca::CertificateRequest::parse(core::to_bytes(csr_pem));
  if (!csr) return csr.error();
  ca::IssueRequest issue;
  issue.role = role;
  issue.subject_id = std::string(id);
  core::Result<ca::Certificate> cert = core::make_error(ErrorCode::kInternal, "not issued");
  {
    std::lock_guard<std::mutex> guard(ca_mutex_);
    cert = keys_->authority->issue(*csr, issue, std::time(nullptr));
    if (!cert) return cert.error();
    MEDLEDGER_TRY(keys_->ca_store->record_issued(*cert, role));
  }
  std::string principal = ledger::principal(config_.hospital_id, id);
  auto receipt = submit_ca_signed(
      new_transaction(ledger::kTxCertRegister, ledger::make_cert_register_body(*cert)),
      "cert.register of " + principal);
  if (!receipt) return receipt.error();
  const core::Digest fingerprint = ledger::certificate_fingerprint(*cert);
  std::string pem = cert->to_pem();
  return IssuedCertificate{std::move(principal), std::move(*cert), std::move(pem), fingerprint,
                           std::move(*receipt)};
}

core::Result<std::string> HospitalNode::crl_pem() {
  const core::Digest issuer = ledger::certificate_fingerprint(keys_->ca_store->chain().front());
  std::map<std::string, ca::RevokedEntry> revoked;  // by serial: one entry each, in a stable order
  {
    auto state = ledger::StateSnapshot::open(ledger_.ledger().store());
    if (!state) return state.error();
    std::vector<core::Digest> fingerprints;
    MEDLEDGER_TRY((*state)->scan(ledger::kTableCerts, {}, [&](core::ByteView key, core::ByteView) {
      core::Digest fp{};
      if (key.size() == fp.size()) {
        std::copy(key.begin(), key.end(), fp.begin());
        fingerprints.push_back(fp);
      }
      return true;
    }));
    for (const auto& fp : fingerprints) {
      auto entry = ledger::find_certificate(**state, fp);
      if (!entry) return entry.error();
      if (!*entry || (*entry)->issuer != issuer || (*entry)->status != "revoked") continue;
      auto cert = ca::Certificate::from_der((*entry)->der);
      if (!cert) return cert.error();
      auto reason = ca::parse_revocation_reason((*entry)->reason);
      ca::RevokedEntry item;
      item.serial_hex = cert->serial_hex();
      item.revoked_at = static_cast<std::time_t>((*entry)->revoked_at_ms / 1000);
      item.reason = reason ? *reason : ca::RevocationReason::kUnspecified;
      revoked.emplace(item.serial_hex, item);
    }
  }
  std::lock_guard<std::mutex> guard(ca_mutex_);
  auto records = keys_->ca_store->records();
  if (!records) return records.error();
  // Revoked in the CA directory only (e.g. a TLS certificate never on the ledger).
  for (const auto& entry : ca::revoked_entries(*records)) revoked.emplace(entry.serial_hex, entry);
  std::vector<ca::RevokedEntry> entries;
  std::string revocations;  // what the CRL lists, to tell whether the cached one still says it
  for (auto& [serial, entry] : revoked) {
    revocations += serial + ':' + std::to_string(entry.revoked_at) + ':' +
                   std::to_string(static_cast<int>(entry.reason)) + ';';
    entries.push_back(std::move(entry));
  }
  const std::time_t now = std::time(nullptr);
  // The same CRL again while it lists the same revocations and is in the first half
  // of its validity: a GET of the CRL costs no token signature and no CRL number.
  if (crl_cache_ && crl_cache_->revocations == revocations && now >= crl_cache_->issued_at &&
      now < crl_cache_->reissue_at) {
    return crl_cache_->pem;
  }
  auto number = keys_->ca_store->next_crl_number();
  if (!number) return number.error();
  auto crl = keys_->authority->make_crl(entries, *number, now, ca::kDefaultCrlValidityDays);
  if (!crl) return crl.error();
  const std::time_t validity = static_cast<std::time_t>(ca::kDefaultCrlValidityDays) * 86400;
  crl_cache_ = CachedCrl{std::move(revocations), crl->to_pem(), now, now + validity / 2};
  return crl_cache_->pem;
}

}  // namespace medledger::node
