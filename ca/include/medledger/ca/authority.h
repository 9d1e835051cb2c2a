// CertificateAuthority: a hospital CA -- its certificate, the chain above it, and
// a core::Signer holding its private key (hsm::TokenSigner in production,
// core::SoftwareSigner in tests). It issues role certificates and signs CRLs.
//
//     auto signer = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
//     auto cert = CertificateAuthority::self_signed(**signer, {.hospital_id = "h1"}, now);
//     auto ca = CertificateAuthority::open(**signer, *cert, {});
//     auto doctor = ca->issue(csr, {.role = Role::kDoctor, .subject_id = "dr-17"}, now);
//
// The CA key must be ECDSA P-256: X.509 Ed25519 signatures are PureEdDSA over the
// whole TBS, which a digest-signing Signer cannot produce (kUnsupportedAlgorithm).
// Every signature costs one Signer::sign_digest (a token round trip with a
// TokenSigner) plus one software verification of the result.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/ca/certificate.h"
#include "medledger/ca/profile.h"
#include "medledger/ca/revocation.h"
#include "medledger/core/signer.h"

namespace medledger::ca {

/// What a CA certificate says. Subject: "CN=<common_name>, O=<hospital_id>".
struct CaOptions {
  std::string hospital_id;
  std::string common_name;  // empty -> "<hospital_id> CA"
  int validity_days = 0;    // 0 -> kDefaultCaValidityDays; max kMaxCaValidityDays
  int path_length =
      0;  // 0: issues end-entity certificates only; 1: an offline root above intermediates
};

/// What the CA is asked to certify. The subject is always
/// "CN=<subject_id>, OU=<role>, O=<hospital of the CA>".
struct IssueRequest {
  Role role = Role::kDoctor;
  std::string subject_id;            // pseudonymous id, see is_valid_identifier
  std::optional<int> validity_days;  // nullopt -> profile default, clamped to the CA's notAfter
};

/// Where relying parties find revocation status. Each non-empty URL goes into every
/// role certificate the CA issues: `ocsp_url` as authorityInfoAccess OCSP,
/// `crl_url` as a crlDistributionPoints fullName URI (RFC 5280 4.2.1.13, 4.2.2.1).
struct PublicationPoints {
  std::string ocsp_url;
  std::string crl_url;
};

/// kInvalidArgument unless `url` is an http:// or https:// URL of at most 512
/// printable ASCII characters without spaces, commas or semicolons (which the
/// extension syntax would read as separators).
core::Result<void> check_publication_url(std::string_view url);

class CertificateAuthority {
 public:
  /// A self-signed CA certificate for the signer's key (basicConstraints critical
  /// CA:TRUE pathlen, keyUsage critical keyCertSign+cRLSign, SKI, AKI). Fails with
  /// kInvalidArgument (bad options), kUnsupportedAlgorithm (non-P-256 key), signer errors.
  static core::Result<Certificate> self_signed(core::Signer& signer, const CaOptions& options,
                                               std::time_t now);

  /// A PKCS#10 request for an intermediate CA certificate, signed by `signer`,
  /// subject as for self_signed. To be signed by a root with issue_intermediate().
  static core::Result<CertificateRequest> intermediate_request(core::Signer& signer,
                                                               const CaOptions& options);

  /// Binds a CA certificate to its key. `chain_above` lists the issuers of
  /// `certificate` up to the root (empty for a self-signed CA). Fails with
  /// kCertificateInvalid if the certificate is not a CA with keyCertSign, if its
  /// key is not the signer's, or if the chain does not link; kUnsupportedAlgorithm
  /// for a non-P-256 key.
  static core::Result<CertificateAuthority> open(core::Signer& signer, Certificate certificate,
                                                 std::vector<Certificate> chain_above);

  /// Issues a role certificate for a CSR. Checks the CSR signature
  /// (kCsrSignatureInvalid), then the profile (kProfileViolation: CA:TRUE or
  /// CA key usages requested, key type outside the profile, validity too long or
  /// past the CA's notAfter, subject attributes other than CN/OU/O or disagreeing
  /// with the request, SANs the role may not have).
  core::Result<Certificate> issue(const CertificateRequest& csr, const IssueRequest& request,
                                  std::time_t now);

  /// Issues a role certificate for a DER SubjectPublicKeyInfo (a key generated in
  /// the token). kMalformedEncoding for an unreadable key, else as issue().
  core::Result<Certificate> issue_for_key(core::ByteView spki, const IssueRequest& request,
                                          std::time_t now);

  /// Signs an intermediate CA certificate for a request made by intermediate_request()
  /// (this CA must have path_length >= 1). The subject must be
  /// "CN=<anything>, O=<options.hospital_id>" with a P-256 key.
  core::Result<Certificate> issue_intermediate(const CertificateRequest& csr,
                                               const CaOptions& options, std::time_t now);

  /// A v2 CRL (cRLNumber, AKI, a reasonCode per entry except unspecified) with
  /// thisUpdate = now and nextUpdate = now + validity_days.
  core::Result<Crl> make_crl(const std::vector<RevokedEntry>& revoked, std::uint64_t crl_number,
                             std::time_t now, int validity_days);
  /// The same with nextUpdate = `next_update` (after `now`, at most kMaxCrlValidityDays
  /// later; kInvalidArgument otherwise).
  core::Result<Crl> make_crl_until(const std::vector<RevokedEntry>& revoked,
                                   std::uint64_t crl_number, std::time_t now,
                                   std::time_t next_update);

  /// A delegated OCSP responder certificate (RFC 6960 4.2.2.2) for a P-256 key:
  /// subject "CN=<hospital id> OCSP Responder, O=<hospital id>", keyUsage critical
  /// digitalSignature, extendedKeyUsage OCSPSigning, id-pkix-ocsp-nocheck (so
  /// clients do not ask for its own status: keep it short-lived). `validity_days`
  /// 1..kMaxOcspResponderValidityDays, clamped to the CA's notAfter.
  /// kInvalidArgument, kProfileViolation (not P-256), signer errors.
  core::Result<Certificate> issue_ocsp_responder(core::ByteView spki, int validity_days,
                                                 std::time_t now);

  /// Publication URLs written into every certificate issued from now on (checked
  /// with check_publication_url; empty members add nothing).
  core::Result<void> set_publication_points(PublicationPoints points);
  const PublicationPoints& publication_points() const { return publication_; }

  const Certificate& certificate() const { return certificate_; }
  /// The CA certificate followed by its issuers up to the root.
  std::vector<Certificate> chain() const;
  /// The top of the chain (the CA itself when self-signed).
  const Certificate& root() const;
  const std::string& hospital_id() const { return hospital_id_; }

 private:
  CertificateAuthority(core::Signer& signer, Certificate certificate,
                       std::vector<Certificate> chain_above, std::string hospital_id)
      : signer_(&signer),
        certificate_(std::move(certificate)),
        chain_above_(std::move(chain_above)),
        hospital_id_(std::move(hospital_id)) {}
  core::Result<Certificate> issue_checked(core::ByteView spki, const IssueRequest& request,
                                          const X509_REQ* csr, std::time_t now);

  core::Signer* signer_;  // not owned; outlives the CA (the token session / test key)
  Certificate certificate_;
  std::vector<Certificate> chain_above_;
  std::string hospital_id_;
  PublicationPoints publication_;
};

}  // namespace medledger::ca
