#include "medledger/ca/export.h"

#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include "x509_build.h"

namespace medledger::ca {

using core::ErrorCode;

namespace {
using Pkcs7Ptr = std::unique_ptr<PKCS7, core::OpenSslDeleter<PKCS7_free>>;

// The degenerate SignedData that `openssl crl2pkcs7 -nocrl` writes: no signers,
// empty data content, the certificates in the certificates field.
core::Result<Pkcs7Ptr> certs_only(const std::vector<Certificate>& certificates) {
  if (certificates.empty())
    return core::make_error(ErrorCode::kInvalidArgument, "nothing to export");
  Pkcs7Ptr p7(PKCS7_new());
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 ||
      PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "create PKCS#7");
  }
  for (const Certificate& cert : certificates) {
    if (PKCS7_add_certificate(p7.get(), cert.get()) != 1)
      return core::openssl_error(ErrorCode::kCryptoError, "add certificate to PKCS#7");
  }
  return p7;
}
}  // namespace

std::string pem_bundle(const std::vector<Certificate>& certificates) {
  std::string out;
  for (const Certificate& cert : certificates) out += cert.to_pem();
  return out;
}

core::Result<core::Bytes> pkcs7_certs_only_der(const std::vector<Certificate>& certificates) {
  MEDLEDGER_TRY_ASSIGN(auto p7, certs_only(certificates));
  core::Bytes der = detail::to_der(p7.get(), i2d_PKCS7);
  if (der.empty()) return core::openssl_error(ErrorCode::kCryptoError, "encode PKCS#7");
  return der;
}

core::Result<std::string> pkcs7_certs_only_pem(const std::vector<Certificate>& certificates) {
  MEDLEDGER_TRY_ASSIGN(auto p7, certs_only(certificates));
  std::string pem = detail::to_pem(p7.get(), PEM_write_bio_PKCS7);
  if (pem.empty()) return core::openssl_error(ErrorCode::kCryptoError, "encode PKCS#7 PEM");
  return pem;
}

}  // namespace medledger::ca
