#include <openssl/err.h>
#include <openssl/pem.h>

#include "medledger/ca/certificate.h"
#include "medledger/ca/limits.h"
#include "x509_build.h"

namespace medledger::ca {

using core::ErrorCode;

CertificateRequest CertificateRequest::adopt(X509ReqPtr req) {
  return CertificateRequest(std::shared_ptr<X509_REQ>(req.release(), X509_REQ_free));
}

core::Result<CertificateRequest> CertificateRequest::parse(core::ByteView pem_or_der) {
  if (pem_or_der.empty()) return core::make_error(ErrorCode::kCsrInvalid, "CSR is empty");
  if (pem_or_der.size() > kMaxEncodedInput) return core::make_error(ErrorCode::kCsrInvalid, "CSR is too large");
  X509ReqPtr req;
  if (detail::looks_like_pem(pem_or_der)) {
    core::BioPtr bio(BIO_new_mem_buf(pem_or_der.data(), static_cast<int>(pem_or_der.size())));
    req.reset(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const unsigned char* p = pem_or_der.data();
    req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(pem_or_der.size())));
    if (req && p != pem_or_der.data() + pem_or_der.size()) {
      return core::make_error(ErrorCode::kCsrInvalid, "trailing bytes after the DER CSR");
    }
  }
  if (!req) return core::openssl_error(ErrorCode::kCsrInvalid, "not a PEM or DER PKCS#10 request");
  return adopt(std::move(req));
}

std::string CertificateRequest::to_pem() const { return detail::to_pem(req_.get(), PEM_write_bio_X509_REQ); }
core::Bytes CertificateRequest::to_der() const { return detail::to_der(req_.get(), i2d_X509_REQ); }
std::string CertificateRequest::subject() const { return detail::name_to_string(X509_REQ_get_subject_name(req_.get())); }

core::Result<core::Bytes> CertificateRequest::public_key_spki() const {
  EVP_PKEY* key = X509_REQ_get0_pubkey(req_.get());
  if (key == nullptr) return core::openssl_error(ErrorCode::kCsrInvalid, "CSR public key cannot be read");
  return detail::spki_of(key);
}

core::Result<void> CertificateRequest::verify_signature() const {
  EVP_PKEY* key = X509_REQ_get0_pubkey(req_.get());
  if (key == nullptr) return core::openssl_error(ErrorCode::kCsrInvalid, "CSR public key cannot be read");
  if (X509_REQ_verify(req_.get(), key) != 1) {
    return core::openssl_error(ErrorCode::kCsrSignatureInvalid, "CSR signature does not verify with its own key");
  }
  return core::success();
}

}  // namespace medledger::ca
