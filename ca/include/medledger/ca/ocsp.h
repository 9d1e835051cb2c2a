// OCSP (RFC 6960): requests parsed strictly, responses built with OpenSSL's OCSP
// types and signed through a core::Signer (the CA key or a delegated responder
// key in the token), the same way certificates and CRLs are (docs/ca.md).
//
//     auto request = OcspRequest::parse(body);              // kOcspRequestMalformed
//     if (!request->issued_by(ca_cert)) -> ocsp_error_response(kUnauthorized)
//     auto responder = OcspResponder::open(signer, ca_cert, ca_cert);
//     auto der = responder->respond(*request, statuses, now, 3600);
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <openssl/ocsp.h>

#include "medledger/ca/certificate.h"
#include "medledger/ca/revocation.h"
#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/signer.h"

namespace medledger::ca {

/// OCSPResponseStatus (RFC 6960 4.2.1).
enum class OcspResponseStatus : int {
  kSuccessful = 0,
  kMalformedRequest = 1,
  kInternalError = 2,
  kTryLater = 3,
  kSigRequired = 5,
  kUnauthorized = 6,
};

/// What the responder says of one certificate.
struct OcspCertStatus {
  enum class Kind { kGood, kRevoked, kUnknown };
  Kind kind = Kind::kUnknown;
  std::time_t revoked_at = 0;                                // kRevoked only
  RevocationReason reason = RevocationReason::kUnspecified;  // kRevoked only; unspecified: absent
};

/// A parsed OCSPRequest (DER).
class OcspRequest {
 public:
  /// DER, at most kMaxOcspRequestBytes, nothing trailing, 1..kMaxOcspRequestCertificates
  /// CertIDs with a hash algorithm OpenSSL knows, a nonce of at most kMaxOcspNonceBytes.
  /// kOcspRequestMalformed (the message says which rule) otherwise. A request
  /// signature is not required and not checked.
  static core::Result<OcspRequest> parse(core::ByteView der);

  /// Number of certificates asked about.
  std::size_t size() const;
  /// Serial of certificate `index` (as Certificate::serial_hex).
  std::string serial_hex(std::size_t index) const;
  /// True if every CertID names `issuer` (issuerNameHash and issuerKeyHash with
  /// the CertID's own hash algorithm).
  bool issued_by(const Certificate& issuer) const;
  /// True if the request carries a nonce extension.
  bool has_nonce() const;

  OCSP_REQUEST* get() const { return request_.get(); }

 private:
  explicit OcspRequest(std::shared_ptr<OCSP_REQUEST> request) : request_(std::move(request)) {}
  std::shared_ptr<OCSP_REQUEST> request_;
};

/// Signs BasicOCSPResponses for the certificates of one issuer.
class OcspResponder {
 public:
  /// `signer` holds the key of `responder` (ECDSA P-256), which is `issuer` itself
  /// or a certificate `issuer` signed with extendedKeyUsage OCSPSigning.
  /// kUnsupportedAlgorithm, kCertificateInvalid (key mismatch, not issued by
  /// `issuer`, no OCSPSigning for a delegate). `signer` must outlive the responder.
  static core::Result<OcspResponder> open(core::Signer& signer, Certificate responder,
                                          Certificate issuer);

  /// A successful OCSPResponse (DER) answering every CertID of `request` with
  /// `statuses` (same order and size): responderID byKey, producedAt = thisUpdate =
  /// `now`, nextUpdate = `now` + `validity_seconds` (> 0), the request's nonce
  /// echoed, the responder certificate included when it is a delegate. The first
  /// answer and every kOcspVerifyEvery-th are checked with the responder's public
  /// key before returning (kSignatureInvalid): a token returning wrong signatures is
  /// caught within that many answers, and an answer with a wrong one only fails at
  /// the client, which verifies every answer. kInvalidArgument (sizes),
  /// kCryptoError, signer errors. Thread-safe. Cost: one Signer::sign_digest, and
  /// one verification per kOcspVerifyEvery answers.
  core::Result<core::Bytes> respond(const OcspRequest& request,
                                    std::span<const OcspCertStatus> statuses, std::time_t now,
                                    long validity_seconds) const;

  const Certificate& responder() const { return responder_; }
  const Certificate& issuer() const { return issuer_; }
  bool delegated() const { return delegated_; }

 private:
  OcspResponder(core::Signer& signer, Certificate responder, Certificate issuer, bool delegated,
                core::Bytes template_der, core::EvpPkeyPtr key)
      : signer_(&signer),
        responder_(std::move(responder)),
        issuer_(std::move(issuer)),
        delegated_(delegated),
        template_der_(std::move(template_der)),
        key_(std::move(key)),
        answered_(std::make_shared<std::atomic<std::uint64_t>>(0)) {}

  core::Signer* signer_;
  Certificate responder_;
  Certificate issuer_;
  bool delegated_;
  core::Bytes template_der_;       // empty BasicOCSPResponse, responderID and algorithm set
  std::shared_ptr<EVP_PKEY> key_;  // the responder's public key, to check signatures
  std::shared_ptr<std::atomic<std::uint64_t>> answered_;  // answers signed, for the sampling
};

/// An unsuccessful OCSPResponse (DER): just the status (no responseBytes).
/// `status` must not be kSuccessful.
core::Bytes ocsp_error_response(OcspResponseStatus status);

/// "successful", "malformedRequest", ... (RFC 6960 names).
std::string_view ocsp_response_status_name(OcspResponseStatus status);

}  // namespace medledger::ca
