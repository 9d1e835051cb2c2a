// node::CaOperations: certificates from CSRs, revocation by fingerprint, the
// CRL, the node's certificates and admission -- each signed by the hospital CA.
#include "medledger/node/ca_operations.h"

#include <optional>
#include <vector>

#include "custody.h"
#include "hospital_ca.h"
#include "medledger/ca/authority.h"
#include "medledger/core/error.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/records_state.h"
#include "node_context.h"

namespace medledger::node {

using core::ErrorCode;

core::Result<IssuedCertificate> CaOperations::issue_certificate(std::string_view csr_pem,
                                                                ca::Role role,
                                                                std::string_view id) {
  if (role != ca::Role::kDoctor && role != ca::Role::kPatient && role != ca::Role::kAuditor &&
      role != ca::Role::kAdmin) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "certificates from CSRs are for doctors, patients, auditors and admins; node "
        "certificates come from provisioning");
  }
  if (!ca::is_valid_identifier(id) || id == node_.config.node_id || id == kNodeEncryptionId) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "subject id must be 1-64 of [A-Za-z0-9._-] and not a node id: '" + std::string(id) + "'");
  }
  MEDLEDGER_TRY_ASSIGN(auto csr, ca::CertificateRequest::parse(core::to_bytes(csr_pem)));
  ca::IssueRequest issue;
  issue.role = role;
  issue.subject_id = std::string(id);
  MEDLEDGER_TRY_ASSIGN(auto cert, ca_.issue(csr, issue));
  std::string principal = ledger::principal(node_.config.hospital_id, id);
  MEDLEDGER_TRY_ASSIGN(auto receipt,
                       ca_.register_certificate(node_, cert, "cert.register of " + principal));
  const core::Digest fingerprint = ledger::certificate_fingerprint(cert);
  std::string pem = cert.to_pem();
  return IssuedCertificate{std::move(principal), std::move(cert), std::move(pem), fingerprint,
                           std::move(receipt)};
}

core::Result<ledger::Receipt> CaOperations::revoke_certificate(const core::Digest& fingerprint,
                                                               std::string_view reason) {
  MEDLEDGER_TRY_ASSIGN(auto parsed, final_revocation_reason(reason));
  std::optional<ledger::CertificateEntry> entry;
  {
    MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
    MEDLEDGER_TRY_ASSIGN(entry, ledger::find_certificate(*state, fingerprint));
  }
  if (!entry)
    return core::make_error(ErrorCode::kNotFound,
                            "no certificate with this fingerprint on the ledger");
  const std::string principal = ledger::principal(entry->hospital, entry->id);
  if (entry->hospital != node_.config.hospital_id) {
    return core::make_error(
        ErrorCode::kRevokeNotAuthorized,
        principal + " was issued by another hospital's CA: only its issuer revokes it");
  }
  if (fingerprint == ledger::certificate_fingerprint(node_.signing_cert) ||
      fingerprint == ledger::certificate_fingerprint(node_.encryption_cert)) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "this is the serving node's own certificate: revoke it from another node or offline "
        "(`medledger ca revoke`) once its replacement is registered");
  }
  // An enrolled person's certificate: their custodial key is shut first, as Persons::revoke does.
  auto person = node_.persons.find(principal);
  if (person) {
    // Never revoke an enrolled person without the PIN lock.
    MEDLEDGER_TRY_ASSIGN(auto enrolled, ca::Certificate::from_pem(person->cert_pem));
    if (ledger::certificate_fingerprint(enrolled) == fingerprint)
      return revoke_enrolled(node_, custody_, ca_, *person, enrolled, parsed);
  } else if (person.error().code != ErrorCode::kNotFound) {
    return person.error();
  }
  MEDLEDGER_TRY_ASSIGN(auto cert, ca::Certificate::from_der(entry->der));
  return ca_.revoke(node_, cert, parsed, principal);
}

core::Result<std::string> CaOperations::crl_pem() {
  MEDLEDGER_TRY_ASSIGN(auto crl, ca_.current_crl(node_));
  return crl.to_pem();
}

core::Result<core::Bytes> CaOperations::crl_der() {
  MEDLEDGER_TRY_ASSIGN(auto crl, ca_.current_crl(node_));
  return crl.to_der();
}

bool CaOperations::serves_ocsp(const ca::OcspRequest& request) const { return ca_.serves(request); }

core::Result<core::Bytes> CaOperations::ocsp_response(const ca::OcspRequest& request) {
  return ca_.ocsp_response(node_, request);
}

core::Result<void> CaOperations::register_node_certificates() {
  std::vector<const ca::Certificate*> pending;
  {
    MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
    MEDLEDGER_TRY_ASSIGN(auto hospital, ledger::find_hospital(*state, node_.config.hospital_id));
    if (!hospital) {
      return core::make_error(
          ErrorCode::kHospitalNotAdmitted,
          node_.config.hospital_id + " is not admitted to this ledger yet (hospital admit)");
    }
    for (const auto* cert : {&node_.signing_cert, &node_.encryption_cert}) {
      MEDLEDGER_TRY_ASSIGN(
          auto found, ledger::find_certificate(*state, ledger::certificate_fingerprint(*cert)));
      if (!found) pending.push_back(cert);
    }
  }
  for (const auto* cert : pending) {
    MEDLEDGER_TRY(ca_.register_certificate(node_, *cert, "cert.register of the node certificate"));
  }
  return core::success();
}

core::Result<PreparedTransaction> CaOperations::admission_request() {
  ledger::HospitalAdmitBody body;
  body.hospital = node_.config.hospital_id;
  for (const auto& cert : ca_.chain()) body.ca_certs_pem.push_back(cert.to_pem());
  PreparedTransaction out;
  out.tx = node_.new_transaction(ledger::kTxHospitalAdmit, ledger::make_hospital_admit_body(body));
  MEDLEDGER_TRY(ca_.sign(out.tx));
  out.tx_id = ledger::tx_id(out.tx);
  return out;
}

core::Result<ledger::Receipt> CaOperations::countersign_admission(ledger::Transaction request) {
  if (request.type != ledger::kTxHospitalAdmit) {
    return core::make_error(ErrorCode::kInvalidArgument, "not a hospital.admit transaction");
  }
  return ca_.submit(node_, std::move(request), "hospital.admit");
}

}  // namespace medledger::node
