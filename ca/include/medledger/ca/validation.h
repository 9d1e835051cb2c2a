// RFC 5280 path validation with OpenSSL (X509_STORE_CTX): the one function the
// ledger uses to decide whether a certificate may act.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "medledger/ca/certificate.h"
#include "medledger/ca/profile.h"

namespace medledger::ca {

/// What a relying party trusts: the admitted hospital CA certificates (roots,
/// self-signed) and intermediates that may be used to build paths to them.
struct TrustAnchors {
  std::vector<Certificate> roots;
  std::vector<Certificate> intermediates;
};

struct ValidatedCertificate {
  Certificate leaf;
  Role role;
  std::string subject_id;         // CN
  std::string hospital_id;        // O
  std::vector<Certificate> path;  // leaf first, root last
};

/// Validates `leaf` at time `at`: signatures up to a root in `anchors`, every
/// certificate's validity period, basicConstraints/pathlen and keyCertSign of the
/// CAs, the leaf is not a CA and has digitalSignature, its OU is a role and its O
/// is its issuer's O. With a non-empty `crls` the leaf's revocation is checked and
/// a CRL from the leaf's issuer must be among them (valid at `at`).
/// Errors: kCertificateExpired, kCertificateNotYetValid, kCertificateRevoked,
/// kCertificateUntrusted (no path to a root, bad signature, another hospital),
/// kCertificateWrongRole (OU is not `expected_role`), kCrlInvalid (missing,
/// expired or badly signed CRL), kCertificateInvalid (anything else).
/// Cost: one signature verification per certificate and CRL; no I/O.
core::Result<ValidatedCertificate> validate_chain(const Certificate& leaf,
                                                  const TrustAnchors& anchors,
                                                  const std::vector<Crl>& crls, std::time_t at,
                                                  std::optional<Role> expected_role);

}  // namespace medledger::ca
