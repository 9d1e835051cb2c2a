#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "medledger/ca/certificate.h"
#include "medledger/ca/limits.h"
#include "external_signing.h"
#include "x509_build.h"

namespace medledger::ca {

using core::ErrorCode;

CertificateRequest CertificateRequest::adopt(X509ReqPtr req) {
  return CertificateRequest(std::shared_ptr<X509_REQ>(req.release(), X509_REQ_free));
}

core::Result<CertificateRequest> CertificateRequest::for_key(
    core::Signer& signer, const std::string& common_name,
    const std::vector<std::string>& subject_alt_names) {
  MEDLEDGER_TRY(detail::require_p256_ca_key(signer));
  if (common_name.empty() || common_name.size() > ub_common_name) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "the request's CN must be 1-64 characters");
  }
  MEDLEDGER_TRY_ASSIGN(auto key, detail::parse_spki(signer.public_key_spki()));
  MEDLEDGER_TRY_ASSIGN(auto name, detail::make_name({{"CN", common_name}}));
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "fill the request");
  }
  if (!subject_alt_names.empty()) {
    std::string joined;
    for (const auto& san : subject_alt_names) {
      if (!(san.starts_with("IP:") || san.starts_with("DNS:")) ||
          san.find(',') != std::string::npos) {
        return core::make_error(
            ErrorCode::kInvalidArgument,
            "a subject alternative name is IP:<address> or DNS:<name>: '" + san + "'");
      }
      joined += (joined.empty() ? "" : ",") + san;
    }
    // OpenSSL parses the "IP:..,DNS:.." list (and refuses a malformed address).
    X509_EXTENSION* raw =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, joined.c_str());
    if (raw == nullptr) {
      ERR_clear_error();
      return core::make_error(ErrorCode::kInvalidArgument,
                              "subject alternative names not understood: " + joined);
    }
    STACK_OF(X509_EXTENSION)* extensions = sk_X509_EXTENSION_new_null();
    const bool pushed = extensions != nullptr && sk_X509_EXTENSION_push(extensions, raw) > 0;
    if (!pushed) X509_EXTENSION_free(raw);  // else the stack owns it
    const bool added = pushed && X509_REQ_add_extensions(req.get(), extensions) == 1;
    sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
    if (!added)
      return core::openssl_error(ErrorCode::kCryptoError, "add subjectAltName to the request");
  }
  return detail::sign_request(std::move(req), signer);
}

core::Result<CertificateRequest> CertificateRequest::parse(core::ByteView pem_or_der) {
  if (pem_or_der.empty()) return core::make_error(ErrorCode::kCsrInvalid, "CSR is empty");
  if (pem_or_der.size() > kMaxEncodedInput)
    return core::make_error(ErrorCode::kCsrInvalid, "CSR is too large");
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

std::string CertificateRequest::to_pem() const {
  return detail::to_pem(req_.get(), PEM_write_bio_X509_REQ);
}
core::Bytes CertificateRequest::to_der() const { return detail::to_der(req_.get(), i2d_X509_REQ); }
std::string CertificateRequest::subject() const {
  return detail::name_to_string(X509_REQ_get_subject_name(req_.get()));
}

core::Result<core::Bytes> CertificateRequest::public_key_spki() const {
  EVP_PKEY* key = X509_REQ_get0_pubkey(req_.get());
  if (key == nullptr)
    return core::openssl_error(ErrorCode::kCsrInvalid, "CSR public key cannot be read");
  return detail::spki_of(key);
}

core::Result<void> CertificateRequest::verify_signature() const {
  EVP_PKEY* key = X509_REQ_get0_pubkey(req_.get());
  if (key == nullptr)
    return core::openssl_error(ErrorCode::kCsrInvalid, "CSR public key cannot be read");
  if (X509_REQ_verify(req_.get(), key) != 1) {
    return core::openssl_error(ErrorCode::kCsrSignatureInvalid,
                               "CSR signature does not verify with its own key");
  }
  return core::success();
}

}  // namespace medledger::ca
