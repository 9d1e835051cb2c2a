// Export for auditors: a certificate chain as a PEM bundle and as a certs-only
// PKCS#7 SignedData (".p7b", what `openssl pkcs7 -print_certs` and Windows read).
#pragma once

#include <string>
#include <vector>

#include "medledger/ca/certificate.h"

namespace medledger::ca {

/// The certificates as concatenated PEM blocks, in the given order.
std::string pem_bundle(const std::vector<Certificate>& certificates);

/// A degenerate (certs-only, unsigned) PKCS#7 SignedData, DER. kCryptoError on OpenSSL failure.
core::Result<core::Bytes> pkcs7_certs_only_der(const std::vector<Certificate>& certificates);
/// The same as PEM ("-----BEGIN PKCS7-----").
core::Result<std::string> pkcs7_certs_only_pem(const std::vector<Certificate>& certificates);

}  // namespace medledger::ca
