// Internal: the hospital CA as a node holds it open -- its key in the token, its
// directory (index.json, CRL numbers) and the authority that issues -- and the
// ledger steps every CA-signed operation shares. Used by enrolment (issue for a
// node-made key, undo), person revocation and the CA operations. Thread-safe:
// the CA directory's index is read-modify-write, so issuing, revoking and CRL
// numbers go one at a time under mutex_ (never held across a commit wait), as
// does the revocation status read from the ledger (for CRLs and OCSP).
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/ca/authority.h"
#include "medledger/ca/certificate.h"
#include "medledger/ca/ocsp.h"
#include "medledger/ca/profile.h"
#include "medledger/ca/revocation.h"
#include "medledger/ca/store.h"
#include "medledger/core/result.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/ledger/receipt.h"
#include "medledger/ledger/transaction.h"
#include "medledger/node/person_directory.h"

namespace medledger::node {

struct NodeContext;
class Custody;

class HospitalCa {
 public:
  /// Opens the CA in `ca_dir` whose key is in `pool`'s token.
  /// kCaNotInitialized, kConfigInvalid (malformed key id), kKeyNotFound, CA errors.
  static core::Result<std::unique_ptr<HospitalCa>> open(
      const std::filesystem::path& ca_dir, const std::shared_ptr<hsm::SessionPool>& pool);

  const ca::CaDirectory& directory() const { return store_; }
  /// The CA certificate, then its issuers.
  const std::vector<ca::Certificate>& chain() const { return store_.chain(); }

  /// Issues for a DER SPKI (a key made here) or a checked CSR, and records it in
  /// the CA directory. CA errors (kProfileViolation, ...), kIoError.
  core::Result<ca::Certificate> issue_for_key(core::ByteView spki, const ca::IssueRequest& request);
  core::Result<ca::Certificate> issue(const ca::CertificateRequest& csr,
                                      const ca::IssueRequest& request);
  /// Adds the CA's signature to `tx`.
  core::Result<void> sign(ledger::Transaction& tx) const;
  /// The CA's signature, then submit and wait: the receipt, or the rejection
  /// code as the error (`what` names the transaction in the log).
  core::Result<ledger::Receipt> submit(const NodeContext& node, ledger::Transaction tx,
                                       std::string_view what) const;
  /// cert.register of `cert`, CA-signed.
  core::Result<ledger::Receipt> register_certificate(const NodeContext& node,
                                                     const ca::Certificate& cert,
                                                     std::string_view what) const;
  /// cert.revoke of `cert` (CA-signed), then its serial in the CA directory (also
  /// when the ledger says kCertAlreadyRevoked, whose error is then returned).
  core::Result<ledger::Receipt> revoke(const NodeContext& node, const ca::Certificate& cert,
                                       ca::RevocationReason reason, const std::string& principal);
  /// The serial revoked in the CA directory (kAlreadyExists if it is already).
  core::Result<void> mark_revoked(const std::string& serial_hex, ca::RevocationReason reason);
  /// The CRL in force (docs/ca.md "Publishing revocation"): the one last published
  /// (crl.der, kept across restarts) while it lists exactly the revoked certificates
  /// and its nextUpdate is more than crl_refresh_before_hours away; otherwise a new
  /// one with the next CRL number, stored before it is returned.
  core::Result<ca::Crl> current_crl(const NodeContext& node);

  /// True if every certificate `request` asks about names this CA as issuer.
  bool serves(const ca::OcspRequest& request) const;
  /// A signed OCSP response (DER) from ledger and CA directory state: revoked (time,
  /// reason), good (issued by this CA, not revoked), unknown (never issued here).
  /// Signed by the delegated responder while its certificate is valid, else by the
  /// CA key. kOcspIssuerUnknown if !serves(request); token errors.
  core::Result<core::Bytes> ocsp_response(const NodeContext& node, const ca::OcspRequest& request);

  HospitalCa(std::unique_ptr<hsm::TokenSigner> signer, ca::CaDirectory store,
             ca::CertificateAuthority authority);

 private:
  /// Every certificate this CA issued, by serial: from the ledger's certs table and the
  /// CA directory (TLS certificates never reach the ledger).
  struct StatusView {
    std::map<std::string, ca::OcspCertStatus> by_serial;
    std::uint64_t height = 0;  // the ledger tip it was read at
    std::chrono::steady_clock::time_point read_at;
  };
  /// Re-reads the view when it is marked stale (an issue or revocation here), or the
  /// ledger grew since and `eager` or kStatusRecheck passed. Under mutex_.
  core::Result<void> refresh_view_locked(const NodeContext& node, bool eager);
  /// Sets up the OCSP responders and publication points from the CA settings.
  core::Result<void> open_revocation(const std::shared_ptr<hsm::SessionPool>& pool);

  std::unique_ptr<hsm::TokenSigner> signer_;            // outlives authority_, which signs with it
  std::unique_ptr<hsm::TokenSigner> responder_signer_;  // the delegated responder key, if any
  ca::CaDirectory store_;
  ca::CertificateAuthority authority_;
  std::optional<ca::OcspResponder> ca_responder_;  // the CA key signs
  std::optional<ca::OcspResponder> delegate_;      // a delegated responder certificate signs
  std::mutex mutex_;
  std::optional<StatusView> view_;  // guarded by mutex_, as the three below
  bool view_stale_ = true;
  std::optional<ca::Crl> crl_;
  bool crl_loaded_ = false;  // crl_ read from the CA directory once
};

/// An RFC 5280 reason name that a ledger revocation may carry (it is final):
/// kInvalidArgument for an unknown name or removeFromCRL.
core::Result<ca::RevocationReason> final_revocation_reason(std::string_view reason);

/// Revokes an enrolled person's certificate: their PIN locked and sessions closed
/// first (fail closed: nothing is signed for them from then on, even if the ledger
/// step fails and is retried), then HospitalCa::revoke.
core::Result<ledger::Receipt> revoke_enrolled(const NodeContext& node, Custody& custody,
                                              HospitalCa& ca, const PersonEntry& person,
                                              const ca::Certificate& cert,
                                              ca::RevocationReason reason);

}  // namespace medledger::node
