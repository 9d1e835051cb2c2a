// OCSP requests and responses (RFC 6960) with OpenSSL's OCSP types, signed
// through a core::Signer (external_signing.cpp).
#include "medledger/ca/ocsp.h"

#include <openssl/x509v3.h>

#include <algorithm>
#include <array>

#include "external_signing.h"
#include "medledger/ca/limits.h"
#include "medledger/core/assert.h"
#include "x509_build.h"

namespace medledger::ca {

using core::ErrorCode;

namespace {

using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, core::OpenSslDeleter<OCSP_BASICRESP_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, core::OpenSslDeleter<OCSP_RESPONSE_free>>;

core::Error malformed(const std::string& why) {
  return core::make_error(ErrorCode::kOcspRequestMalformed, "OCSP request: " + why);
}

// The CertID's hash of `issuer`'s name and key, with the CertID's algorithm.
bool names_issuer(OCSP_CERTID* id, const Certificate& issuer) {
  ASN1_OCTET_STRING* name_hash = nullptr;
  ASN1_OBJECT* algorithm = nullptr;
  ASN1_OCTET_STRING* key_hash = nullptr;
  ASN1_INTEGER* serial = nullptr;
  if (OCSP_id_get0_info(&name_hash, &algorithm, &key_hash, &serial, id) != 1) return false;
  const EVP_MD* md = EVP_get_digestbyobj(algorithm);
  if (md == nullptr || name_hash == nullptr || key_hash == nullptr) return false;
  std::array<unsigned char, EVP_MAX_MD_SIZE> name_digest{};
  std::array<unsigned char, EVP_MAX_MD_SIZE> key_digest{};
  unsigned int name_size = 0;
  unsigned int key_size = 0;
  if (X509_NAME_digest(X509_get_subject_name(issuer.get()), md, name_digest.data(), &name_size) !=
          1 ||
      X509_pubkey_digest(issuer.get(), md, key_digest.data(), &key_size) != 1) {
    return false;
  }
  auto same = [](const ASN1_OCTET_STRING* field, const unsigned char* digest, unsigned int size) {
    return ASN1_STRING_length(field) == static_cast<int>(size) &&
           std::equal(digest, digest + size, ASN1_STRING_get0_data(field));
  };
  return same(name_hash, name_digest.data(), name_size) &&
         same(key_hash, key_digest.data(), key_size);
}

}  // namespace

core::Result<OcspRequest> OcspRequest::parse(core::ByteView der) {
  if (der.empty()) return malformed("the body is empty");
  if (der.size() > kMaxOcspRequestBytes) {
    return malformed("larger than " + std::to_string(kMaxOcspRequestBytes) + " bytes");
  }
  const unsigned char* p = der.data();
  std::shared_ptr<OCSP_REQUEST> request(
      d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size())), OCSP_REQUEST_free);
  if (!request) return malformed("not a DER OCSPRequest");
  if (p != der.data() + der.size()) return malformed("bytes after the OCSPRequest");
  const int count = OCSP_request_onereq_count(request.get());
  if (count <= 0) return malformed("it asks about no certificate");
  if (static_cast<std::size_t>(count) > kMaxOcspRequestCertificates) {
    return malformed("more than " + std::to_string(kMaxOcspRequestCertificates) +
                     " certificates in one request");
  }
  for (int i = 0; i < count; ++i) {
    ASN1_OBJECT* algorithm = nullptr;
    ASN1_INTEGER* serial = nullptr;
    OCSP_CERTID* id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(request.get(), i));
    if (OCSP_id_get0_info(nullptr, &algorithm, nullptr, &serial, id) != 1 || serial == nullptr ||
        EVP_get_digestbyobj(algorithm) == nullptr) {
      return malformed("a CertID has an unknown hash algorithm");
    }
    if (ASN1_STRING_length(serial) <= 0 || ASN1_STRING_length(serial) > 20 + 1) {
      return malformed("a serial number is empty or longer than 20 octets");
    }
  }
  const int nonce_at = OCSP_REQUEST_get_ext_by_NID(request.get(), NID_id_pkix_OCSP_Nonce, -1);
  if (nonce_at >= 0) {
    const ASN1_OCTET_STRING* value =
        X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(request.get(), nonce_at));
    if (value == nullptr || ASN1_STRING_length(value) <= 0 ||
        static_cast<std::size_t>(ASN1_STRING_length(value)) > kMaxOcspNonceBytes) {
      return malformed("the nonce must hold 1.." + std::to_string(kMaxOcspNonceBytes) + " bytes");
    }
    if (OCSP_REQUEST_get_ext_by_NID(request.get(), NID_id_pkix_OCSP_Nonce, nonce_at) >= 0) {
      return malformed("two nonces");
    }
  }
  return OcspRequest(std::move(request));
}

std::size_t OcspRequest::size() const {
  return static_cast<std::size_t>(OCSP_request_onereq_count(request_.get()));
}

std::string OcspRequest::serial_hex(std::size_t index) const {
  MEDLEDGER_ASSERT(index < size());
  ASN1_INTEGER* serial = nullptr;
  OCSP_CERTID* id =
      OCSP_onereq_get0_id(OCSP_request_onereq_get0(request_.get(), static_cast<int>(index)));
  OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, id);
  return detail::integer_hex(serial);
}

bool OcspRequest::issued_by(const Certificate& issuer) const {
  for (std::size_t i = 0; i < size(); ++i) {
    OCSP_CERTID* id =
        OCSP_onereq_get0_id(OCSP_request_onereq_get0(request_.get(), static_cast<int>(i)));
    if (!names_issuer(id, issuer)) return false;
  }
  return true;
}

bool OcspRequest::has_nonce() const {
  return OCSP_REQUEST_get_ext_by_NID(request_.get(), NID_id_pkix_OCSP_Nonce, -1) >= 0;
}

core::Result<OcspResponder> OcspResponder::open(core::Signer& signer, Certificate responder,
                                                Certificate issuer) {
  MEDLEDGER_TRY(detail::require_p256_ca_key(signer));
  MEDLEDGER_TRY_ASSIGN(auto key, detail::parse_spki(signer.public_key_spki()));
  if (EVP_PKEY_eq(key.get(), X509_get0_pubkey(responder.get())) != 1) {
    return core::make_error(ErrorCode::kCertificateInvalid,
                            "the OCSP responder certificate does not certify the signer's key");
  }
  const bool delegated = X509_cmp(responder.get(), issuer.get()) != 0;
  if (delegated) {
    if (X509_check_issued(issuer.get(), responder.get()) != X509_V_OK ||
        X509_verify(responder.get(), X509_get0_pubkey(issuer.get())) != 1) {
      return core::make_error(ErrorCode::kCertificateInvalid,
                              "the OCSP responder certificate is not issued by the CA");
    }
    if ((X509_get_extended_key_usage(responder.get()) & XKU_OCSP_SIGN) == 0) {
      return core::make_error(ErrorCode::kCertificateInvalid,
                              "the OCSP responder certificate lacks extendedKeyUsage OCSPSigning");
    }
  }
  core::Bytes key_hash(SHA_DIGEST_LENGTH);
  unsigned int size = 0;
  if (X509_pubkey_digest(responder.get(), EVP_sha1(), key_hash.data(), &size) != 1 ||
      size != key_hash.size()) {
    return core::openssl_error(ErrorCode::kCryptoError, "hash the responder key");
  }
  MEDLEDGER_TRY_ASSIGN(auto template_der, detail::basic_response_template(key_hash));
  return OcspResponder(signer, std::move(responder), std::move(issuer), delegated,
                       std::move(template_der), std::move(key));
}

core::Result<core::Bytes> OcspResponder::respond(const OcspRequest& request,
                                                 std::span<const OcspCertStatus> statuses,
                                                 std::time_t now, long validity_seconds) const {
  if (statuses.size() != request.size() || validity_seconds <= 0) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "one status per certificate asked about and a positive validity");
  }
  const unsigned char* p = template_der_.data();
  OcspBasicPtr basic(d2i_OCSP_BASICRESP(nullptr, &p, static_cast<long>(template_der_.size())));
  detail::Asn1TimePtr this_update(ASN1_TIME_set(nullptr, now));
  detail::Asn1TimePtr next_update(ASN1_TIME_set(nullptr, now + validity_seconds));
  if (!basic || !this_update || !next_update)
    return core::openssl_error(ErrorCode::kCryptoError, "allocate OCSP response");
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    OCSP_CERTID* id =
        OCSP_onereq_get0_id(OCSP_request_onereq_get0(request.get(), static_cast<int>(i)));
    const OcspCertStatus& status = statuses[i];
    detail::Asn1TimePtr revoked_at;
    int kind = V_OCSP_CERTSTATUS_UNKNOWN;
    int reason = OCSP_REVOKED_STATUS_NOSTATUS;
    if (status.kind == OcspCertStatus::Kind::kGood) {
      kind = V_OCSP_CERTSTATUS_GOOD;
    } else if (status.kind == OcspCertStatus::Kind::kRevoked) {
      kind = V_OCSP_CERTSTATUS_REVOKED;
      revoked_at.reset(ASN1_TIME_set(nullptr, status.revoked_at));
      if (!revoked_at) return core::openssl_error(ErrorCode::kCryptoError, "revocation time");
      // As in CRLs (RFC 5280 5.3.1): unspecified is said by leaving the reason out.
      if (status.reason != RevocationReason::kUnspecified) reason = static_cast<int>(status.reason);
    }
    // The CertID is copied as asked (same hash algorithm), which clients match on.
    if (OCSP_basic_add1_status(basic.get(), id, kind, reason, revoked_at.get(), this_update.get(),
                               next_update.get()) == nullptr) {
      return core::openssl_error(ErrorCode::kCryptoError, "add OCSP single response");
    }
  }
  if (OCSP_copy_nonce(basic.get(), request.get()) <= 0)
    return core::openssl_error(ErrorCode::kCryptoError, "echo the OCSP nonce");
  // A delegate's certificate travels with the response so clients can check the delegation.
  if (delegated_ && OCSP_basic_add1_cert(basic.get(), responder_.get()) != 1)
    return core::openssl_error(ErrorCode::kCryptoError, "add the responder certificate");
  const bool verify = answered_->fetch_add(1, std::memory_order_relaxed) % kOcspVerifyEvery == 0;
  MEDLEDGER_TRY(detail::sign_basic_response(basic.get(), now, key_.get(), *signer_, verify));
  OcspResponsePtr response(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  if (!response) return core::openssl_error(ErrorCode::kCryptoError, "wrap OCSP response");
  core::Bytes der = detail::to_der(response.get(), i2d_OCSP_RESPONSE);
  if (der.empty()) return core::openssl_error(ErrorCode::kCryptoError, "encode OCSP response");
  return der;
}

core::Bytes ocsp_error_response(OcspResponseStatus status) {
  MEDLEDGER_ASSERT(status != OcspResponseStatus::kSuccessful);
  OcspResponsePtr response(OCSP_response_create(static_cast<int>(status), nullptr));
  MEDLEDGER_ASSERT(response != nullptr);
  return detail::to_der(response.get(), i2d_OCSP_RESPONSE);
}

std::string_view ocsp_response_status_name(OcspResponseStatus status) {
  switch (status) {
    case OcspResponseStatus::kSuccessful:
      return "successful";
    case OcspResponseStatus::kMalformedRequest:
      return "malformedRequest";
    case OcspResponseStatus::kInternalError:
      return "internalError";
    case OcspResponseStatus::kTryLater:
      return "tryLater";
    case OcspResponseStatus::kSigRequired:
      return "sigRequired";
    case OcspResponseStatus::kUnauthorized:
      return "unauthorized";
  }
  return "internalError";
}

}  // namespace medledger::ca
