// Signing X.509 structures with a core::Signer instead of an EVP_PKEY.
//
// OpenSSL 3.0 signs certificates only with a key it holds. These functions set
// the AlgorithmIdentifiers to ecdsa-with-SHA256, encode the to-be-signed part,
// have the Signer sign its SHA-256, and put the X9.62 DER signature in place.
// The returned object is re-parsed from its final DER so no stale cache remains.
#pragma once

#include <openssl/ocsp.h>

#include "medledger/ca/certificate.h"
#include "medledger/core/signer.h"

namespace medledger::ca::detail {

/// kUnsupportedAlgorithm unless the signer holds an ECDSA P-256 key (see authority.h).
core::Result<void> require_p256_ca_key(const core::Signer& signer);

/// Signs `cert` (all fields but the signature set) and verifies the result
/// with the signer's public key. Errors: the signer's, kCryptoError.
core::Result<Certificate> sign_certificate(core::X509Ptr cert, core::Signer& signer);
/// The same for a CRL.
core::Result<Crl> sign_crl(X509CrlPtr crl, core::Signer& signer);
/// The same for a PKCS#10 request (the CA's own CSR for an intermediate).
core::Result<CertificateRequest> sign_request(X509ReqPtr req, core::Signer& signer);
/// The DER of an empty BasicOCSPResponse with responderID byKey = `key_hash` (SHA-1
/// of the responder's public key) and ecdsa-with-SHA256 set: what sign_basic_response
/// completes. Made once per responder (OCSP_basic_sign with a placeholder key is the
/// only setter of those fields), so each answer costs no placeholder signature.
core::Result<core::Bytes> basic_response_template(core::ByteView key_hash);
/// Signs a BasicOCSPResponse parsed from basic_response_template whose statuses (and
/// nonce) are set: producedAt = `produced_at`, the Signer's signature over the DER
/// ResponseData; checked with `responder_key` when `verify`.
core::Result<void> sign_basic_response(OCSP_BASICRESP* response, std::time_t produced_at,
                                       EVP_PKEY* responder_key, core::Signer& signer, bool verify);

}  // namespace medledger::ca::detail
