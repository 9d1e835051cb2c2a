// Client authentication: who is behind a TLS client certificate.
//
// The TLS layer accepts any client certificate during the handshake (it cannot
// know the ledger's admitted CAs); a ClientAuthenticator then decides, per
// connection, against trust that can change while the server runs (a hospital
// admitted, a certificate revoked).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "medledger/api/http.h"
#include "medledger/ca/certificate.h"
#include "medledger/ca/validation.h"
#include "medledger/core/sha256.h"

namespace medledger::api {

class ClientAuthenticator {
 public:
  virtual ~ClientAuthenticator() = default;

  /// Authenticates the peer chain (DER, leaf first, as the client sent it).
  /// Returns the principal, or the reason the certificate is not accepted
  /// (kCertificateUntrusted, kCertificateRevoked, kCertificateExpired, ...).
  /// Called from handler threads concurrently: must be thread-safe.
  virtual core::Result<Principal> authenticate(const std::vector<core::Bytes>& peer_chain_der) = 0;

  /// Changes whenever the trust behind authenticate() changes; a connection
  /// re-authenticates its certificate when this differs from the value it saw.
  virtual std::uint64_t trust_generation() const = 0;
};

/// What a chain is validated against at one moment: admitted CA certificates,
/// the CRLs in force, and a generation number that changes with them.
struct TrustSnapshot {
  ca::TrustAnchors anchors;
  /// CRLs of some anchors: a leaf whose issuer has a CRL here is checked against
  /// it; a leaf whose issuer has none is not CRL-checked (ledger CAs: is_revoked).
  std::vector<ca::Crl> crls;
  /// The ledger's revocation: true if the certificate with this SHA-256
  /// fingerprint is revoked. Asked for the leaf and each intermediate the client
  /// sent; its error (LEDGER_STORAGE, ...) refuses the client (fail closed). Null: none.
  std::function<core::Result<bool>(const core::Digest&)> is_revoked;
  std::uint64_t generation = 0;
};

/// Supplies the current trust (the ledger's admitted CAs and revocations in node/;
/// files read at start-up in `medledger serve` until then). Must be thread-safe and cheap.
using TrustProvider = std::function<std::shared_ptr<const TrustSnapshot>()>;

/// A ClientAuthenticator that runs ca::validate_chain (RFC 5280: signatures,
/// validity, CA constraints, role in OU, hospital in O, CRLs) at the current time,
/// then TrustSnapshot::is_revoked (kCertificateRevoked "revoked on the ledger").
/// Intermediates sent by the client are used to build the path, never trusted as anchors.
/// Cost per call: one signature verification per certificate and CRL.
class ChainValidatingAuthenticator final : public ClientAuthenticator {
 public:
  explicit ChainValidatingAuthenticator(TrustProvider trust);
  core::Result<Principal> authenticate(const std::vector<core::Bytes>& peer_chain_der) override;
  std::uint64_t trust_generation() const override;

 private:
  TrustProvider trust_;
};

/// A snapshot from PEM text: the CA certificates (self-signed ones become roots,
/// the others intermediates) and PEM CRLs. kMalformedEncoding / kCrlInvalid.
core::Result<std::shared_ptr<const TrustSnapshot>> trust_snapshot_from_pem(
    std::string_view ca_bundle_pem, const std::vector<std::string>& crl_pems,
    std::uint64_t generation);

/// Lowercase hex SHA-256 of a certificate's DER: Principal::fingerprint.
std::string certificate_fingerprint(core::ByteView der);

}  // namespace medledger::api
