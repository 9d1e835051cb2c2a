#include "external_signing.h"

#include "x509_build.h"

namespace medledger::ca::detail {

using core::ErrorCode;

namespace {
// ecdsa-with-SHA256 with absent parameters (RFC 5758 section 3.2).
core::Result<void> set_ecdsa_sha256(X509_ALGOR* algorithm) {
  if (algorithm == nullptr ||
      X509_ALGOR_set0(algorithm, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, nullptr) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "set signature algorithm");
  }
  return core::success();
}

// The accessors hand out const pointers into the object we own and are about
// to sign; OpenSSL 3.0 has no setter for these fields, so the cast is the API.
core::Result<void> set_signature_bits(const ASN1_BIT_STRING* field, const core::Bytes& signature) {
  auto* bits = const_cast<ASN1_BIT_STRING*>(field);
  if (bits == nullptr || ASN1_BIT_STRING_set(bits, const_cast<unsigned char*>(signature.data()),
                                             static_cast<int>(signature.size())) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "set signature value");
  }
  // A signature is whole bytes: zero unused bits, stated explicitly.
  bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  return core::success();
}

core::Result<core::Bytes> sign_tbs(const core::Bytes& tbs, core::Signer& signer) {
  if (tbs.empty()) return core::openssl_error(ErrorCode::kCryptoError, "encode to-be-signed part");
  return signer.sign_digest(core::sha256(tbs));
}

// Placeholder key for CRLs: OpenSSL 3.0 gives no access to a CRL's inner
// signature AlgorithmIdentifier, so X509_CRL_sign with a throwaway P-256 key
// sets both identifiers; the signature value is then replaced by the Signer's.
EVP_PKEY* placeholder_p256_key() {
  static core::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  return key.get();
}

core::Result<core::EvpPkeyPtr> signer_key(const core::Signer& signer) {
  return parse_spki(signer.public_key_spki());
}

// OCSP_basic_sign insists on a certificate matching its key, and it is what sets
// the responderID, producedAt and the signature AlgorithmIdentifier; this one
// certifies the placeholder key and is never sent (OCSP_NOCERTS).
X509* placeholder_certificate() {
  static core::X509Ptr cert = [] {
    core::X509Ptr made(X509_new());
    EVP_PKEY* key = placeholder_p256_key();
    if (made && key != nullptr && X509_set_pubkey(made.get(), key) == 1) return made;
    return core::X509Ptr();
  }();
  return cert.get();
}
}  // namespace

core::Result<void> require_p256_ca_key(const core::Signer& signer) {
  if (signer.algorithm() != core::KeyAlgorithm::kEcdsaP256) {
    return core::make_error(
        ErrorCode::kUnsupportedAlgorithm,
        "the CA key must be ECDSA P-256 (an X.509 Ed25519 signature covers the whole "
        "to-be-signed data, which a digest signer cannot produce)");
  }
  return core::success();
}

core::Result<Certificate> sign_certificate(core::X509Ptr cert, core::Signer& signer) {
  MEDLEDGER_TRY(require_p256_ca_key(signer));
  const ASN1_BIT_STRING* signature_field = nullptr;
  const X509_ALGOR* outer = nullptr;
  X509_get0_signature(&signature_field, &outer, cert.get());
  MEDLEDGER_TRY(set_ecdsa_sha256(const_cast<X509_ALGOR*>(X509_get0_tbs_sigalg(cert.get()))));
  MEDLEDGER_TRY(set_ecdsa_sha256(const_cast<X509_ALGOR*>(outer)));
  MEDLEDGER_TRY_ASSIGN(auto signature, sign_tbs(to_der(cert.get(), i2d_re_X509_tbs), signer));
  MEDLEDGER_TRY(set_signature_bits(signature_field, signature));

  auto result = Certificate::from_der(to_der(cert.get(), i2d_X509));
  if (!result)
    return core::make_error(ErrorCode::kInternal,
                            "signed certificate does not re-parse: " + result.error().message);
  MEDLEDGER_TRY_ASSIGN(auto key, signer_key(signer));
  // Check after writing: a token that returned a wrong signature is caught here.
  if (X509_verify(result->get(), key.get()) != 1) {
    return core::openssl_error(ErrorCode::kSignatureInvalid,
                               "the signer's certificate signature does not verify");
  }
  return result;
}

core::Result<Crl> sign_crl(X509CrlPtr crl, core::Signer& signer) {
  MEDLEDGER_TRY(require_p256_ca_key(signer));
  EVP_PKEY* placeholder = placeholder_p256_key();
  if (placeholder == nullptr || X509_CRL_sign(crl.get(), placeholder, EVP_sha256()) <= 0) {
    return core::openssl_error(ErrorCode::kCryptoError, "prepare CRL signature fields");
  }
  MEDLEDGER_TRY_ASSIGN(auto signature, sign_tbs(to_der(crl.get(), i2d_re_X509_CRL_tbs), signer));
  const ASN1_BIT_STRING* signature_field = nullptr;
  const X509_ALGOR* outer = nullptr;
  X509_CRL_get0_signature(crl.get(), &signature_field, &outer);
  MEDLEDGER_TRY(set_signature_bits(signature_field, signature));

  auto result = Crl::parse(to_der(crl.get(), i2d_X509_CRL));
  if (!result)
    return core::make_error(ErrorCode::kInternal,
                            "signed CRL does not re-parse: " + result.error().message);
  MEDLEDGER_TRY_ASSIGN(auto key, signer_key(signer));
  if (X509_CRL_verify(result->get(), key.get()) != 1) {
    return core::openssl_error(ErrorCode::kSignatureInvalid,
                               "the signer's CRL signature does not verify");
  }
  return result;
}

core::Result<CertificateRequest> sign_request(X509ReqPtr req, core::Signer& signer) {
  MEDLEDGER_TRY(require_p256_ca_key(signer));
  const ASN1_BIT_STRING* signature_field = nullptr;
  const X509_ALGOR* algorithm = nullptr;
  X509_REQ_get0_signature(req.get(), &signature_field, &algorithm);
  MEDLEDGER_TRY(set_ecdsa_sha256(const_cast<X509_ALGOR*>(algorithm)));
  MEDLEDGER_TRY_ASSIGN(auto signature, sign_tbs(to_der(req.get(), i2d_re_X509_REQ_tbs), signer));
  MEDLEDGER_TRY(set_signature_bits(signature_field, signature));

  auto result = CertificateRequest::parse(to_der(req.get(), i2d_X509_REQ));
  if (!result)
    return core::make_error(ErrorCode::kInternal,
                            "signed CSR does not re-parse: " + result.error().message);
  MEDLEDGER_TRY(result->verify_signature());
  return result;
}

core::Result<core::Bytes> basic_response_template(core::ByteView key_hash) {
  std::unique_ptr<OCSP_BASICRESP, core::OpenSslDeleter<OCSP_BASICRESP_free>> response(
      OCSP_BASICRESP_new());
  X509* placeholder = placeholder_certificate();
  if (!response || placeholder == nullptr ||
      OCSP_basic_sign(response.get(), placeholder, placeholder_p256_key(), EVP_sha256(), nullptr,
                      OCSP_NOCERTS | OCSP_RESPID_KEY) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "prepare OCSP response signature fields");
  }
  // The byKey ResponderID names the placeholder key so far: the real key's hash goes in.
  const ASN1_OCTET_STRING* key_id = nullptr;
  const X509_NAME* name = nullptr;
  if (OCSP_resp_get0_id(response.get(), &key_id, &name) != 1 || key_id == nullptr ||
      ASN1_OCTET_STRING_set(const_cast<ASN1_OCTET_STRING*>(key_id), key_hash.data(),
                            static_cast<int>(key_hash.size())) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "set OCSP responder id");
  }
  core::Bytes der = to_der(response.get(), i2d_OCSP_BASICRESP);
  if (der.empty()) return core::openssl_error(ErrorCode::kCryptoError, "encode OCSP template");
  return der;
}

core::Result<void> sign_basic_response(OCSP_BASICRESP* response, std::time_t produced_at,
                                       EVP_PKEY* responder_key, core::Signer& signer, bool verify) {
  MEDLEDGER_TRY(require_p256_ca_key(signer));
  auto* produced = const_cast<ASN1_GENERALIZEDTIME*>(OCSP_resp_get0_produced_at(response));
  if (produced == nullptr || ASN1_GENERALIZEDTIME_set(produced, produced_at) == nullptr)
    return core::openssl_error(ErrorCode::kCryptoError, "set OCSP producedAt");
  const OCSP_RESPDATA* data = OCSP_resp_get0_respdata(response);
  MEDLEDGER_TRY_ASSIGN(auto signature, sign_tbs(to_der(data, i2d_OCSP_RESPDATA), signer));
  MEDLEDGER_TRY(set_signature_bits(OCSP_resp_get0_signature(response), signature));
  if (verify && ASN1_item_verify(ASN1_ITEM_rptr(OCSP_RESPDATA), OCSP_resp_get0_tbs_sigalg(response),
                                 OCSP_resp_get0_signature(response), data, responder_key) != 1) {
    return core::openssl_error(ErrorCode::kSignatureInvalid,
                               "the signer's OCSP response signature does not verify");
  }
  return core::success();
}

}  // namespace medledger::ca::detail
