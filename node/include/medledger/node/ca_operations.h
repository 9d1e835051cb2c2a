// node::CaOperations: what the hospital's CA and administrators do through a
// node besides enrolment -- certificates from CSRs, revocation by fingerprint,
// the CRL built from ledger state, and the consortium steps the CA signs (the
// node's own certificates, admission of a hospital). Reached as
// HospitalNode::ca(); docs/node.md lists each call's errors. Thread-safe (see
// hospital_node.h).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/ca/certificate.h"
#include "medledger/ca/ocsp.h"
#include "medledger/ca/profile.h"
#include "medledger/core/result.h"
#include "medledger/core/sha256.h"
#include "medledger/ledger/receipt.h"
#include "medledger/ledger/transaction.h"
#include "medledger/node/signing.h"

namespace medledger::ledger {
class StateView;
}

namespace medledger::node {

/// The status of every certificate on the ledger that the CA certificate with
/// fingerprint `issuer` issued, by serial (as Certificate::serial_hex): revoked (time,
/// reason) or good. kLedgerCorrupt / kMalformedEncoding for damaged entries. Cost: a
/// scan of the certs table. What the node's CRLs and OCSP answers and `medledger ca
/// crl --node-dir` read.
core::Result<std::map<std::string, ca::OcspCertStatus>> ledger_certificate_statuses(
    const ledger::StateView& state, const core::Digest& issuer);
/// The revoked ones among `statuses` as CRL entries, in serial order.
std::vector<ca::RevokedEntry> crl_entries(
    const std::map<std::string, ca::OcspCertStatus>& statuses);

struct NodeContext;
class Custody;
class HospitalCa;

/// A certificate issued from a CSR by issue_certificate.
struct IssuedCertificate {
  std::string principal;  // "<hospital>/<id>"
  ca::Certificate certificate;
  std::string certificate_pem;
  core::Digest fingerprint{};  // SHA-256 of the DER, as transactions name it
  ledger::Receipt receipt;     // of the cert.register
};

class CaOperations {
 public:
  CaOperations(const NodeContext& node, Custody& custody, HospitalCa& ca)
      : node_(node), custody_(custody), ca_(ca) {}
  CaOperations(const CaOperations&) = delete;
  CaOperations& operator=(const CaOperations&) = delete;

  /// Issues a certificate for a PKCS#10 CSR (PEM or DER) with the hospital CA and
  /// registers it on the ledger (cert.register, which the contract accepts for
  /// doctor, patient, auditor and admin certificates). The key stays with its
  /// owner: nobody is enrolled here (no PIN, no custodial key); the owner signs
  /// externally. kInvalidArgument (role node -- node certificates come from
  /// provision -- or a bad / reserved id), kCsrInvalid, kCsrSignatureInvalid,
  /// kProfileViolation, ledger codes (PERSON_CERT_LIMIT, ...). Cost: a CSR check,
  /// two token signatures (certificate, transaction), a commit.
  core::Result<IssuedCertificate> issue_certificate(std::string_view csr_pem, ca::Role role,
                                                    std::string_view id);
  /// Revokes a certificate this hospital's CA issued, named by its fingerprint (as
  /// issue_certificate and enrol return it): one issued from a CSR (an admin's,
  /// an auditor's), or an enrolled person's (then as Persons::revoke). cert.revoke
  /// signed by the hospital CA, then the CA directory (for crl_pem). kNotFound
  /// (not on the ledger), kRevokeNotAuthorized (another hospital's),
  /// kInvalidArgument (reason; this node's own certificates), kCertAlreadyRevoked,
  /// ledger codes. Cost: a token signature and a commit.
  core::Result<ledger::Receipt> revoke_certificate(const core::Digest& fingerprint,
                                                   std::string_view reason);
  /// The current CRL (PEM) signed by the hospital CA, listing every certificate it
  /// issued that is revoked on the ledger (cert.revoke by the CA or the subject, from
  /// any node) or in its CA directory. The CRL last published (kept in the CA
  /// directory, so across restarts) is returned again, same number, while it lists
  /// the same revocations and its nextUpdate is more than the CA's
  /// crl_refresh_before_hours away; otherwise a new one takes the next CRL number
  /// (docs/ca.md "Publishing revocation"). A revocation through this node publishes
  /// at once. kIoError (CA index), token errors. Cost: a scan of the ledger's certs
  /// table when the ledger grew; when re-issued, one token signature and two CA
  /// directory writes.
  core::Result<std::string> crl_pem();
  /// The same CRL, DER.
  core::Result<core::Bytes> crl_der();

  /// True if every certificate `request` asks about names this hospital's CA as issuer.
  bool serves_ocsp(const ca::OcspRequest& request) const;
  /// The OCSP response (DER, RFC 6960) for `request`: good / revoked (time, reason) /
  /// unknown per certificate from ledger state (at most a second old; revocations
  /// through this node at once), nonce echoed, thisUpdate now and nextUpdate after
  /// the CA's ocsp_validity_minutes; signed in the token by the delegated responder
  /// key (ca.json ocsp_responder_key_id) while its certificate is valid, else by the
  /// CA key. kOcspIssuerUnknown (another CA's certificate), token errors. Cost: one
  /// token signature, one software signature and one verification.
  core::Result<core::Bytes> ocsp_response(const ca::OcspRequest& request);

  /// cert.register of the node's two certificates (skipping any on the ledger
  /// already). kHospitalNotAdmitted if this hospital is not admitted yet.
  core::Result<void> register_node_certificates();
  /// A hospital.admit for this hospital signed by its CA (the candidate), to be
  /// countersigned by members within the 5-minute window. Cost: one signature.
  core::Result<PreparedTransaction> admission_request();
  /// Adds this (member) hospital's CA signature to `request` and submits it.
  /// Rejections as docs/contract.md (ADMIT_QUORUM_NOT_MET, ...).
  core::Result<ledger::Receipt> countersign_admission(ledger::Transaction request);

 private:
  const NodeContext& node_;
  Custody& custody_;
  HospitalCa& ca_;
};

}  // namespace medledger::node
