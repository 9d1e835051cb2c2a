#include "medledger/ca/validation.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "medledger/ca/limits.h"
#include "x509_build.h"

namespace medledger::ca {

using core::ErrorCode;

namespace {
using X509StorePtr = std::unique_ptr<X509_STORE, core::OpenSslDeleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, core::OpenSslDeleter<X509_STORE_CTX_free>>;
struct CertStackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
struct CrlStackFree {
  void operator()(STACK_OF(X509_CRL) * s) const { sk_X509_CRL_pop_free(s, X509_CRL_free); }
};
using CertStack = std::unique_ptr<STACK_OF(X509), CertStackFree>;
using CrlStack = std::unique_ptr<STACK_OF(X509_CRL), CrlStackFree>;

ErrorCode code_for(int verify_error) {
  switch (verify_error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return ErrorCode::kCertificateExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return ErrorCode::kCertificateNotYetValid;
    case X509_V_ERR_CERT_REVOKED:
      return ErrorCode::kCertificateRevoked;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CERT_REJECTED:
      return ErrorCode::kCertificateUntrusted;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
      return ErrorCode::kCrlInvalid;
    default:
      return ErrorCode::kCertificateInvalid;
  }
}

core::Result<void> check_leaf(const Certificate& leaf, const Certificate& issuer,
                              std::optional<Role> expected_role, ValidatedCertificate& out) {
  if (leaf.is_ca())
    return core::make_error(ErrorCode::kCertificateInvalid,
                            "'" + leaf.subject() + "' is a CA certificate, not a role certificate");
  if ((X509_get_key_usage(leaf.get()) & KU_DIGITAL_SIGNATURE) == 0) {
    return core::make_error(ErrorCode::kCertificateInvalid,
                            "'" + leaf.subject() + "' does not allow digitalSignature");
  }
  auto cn = leaf.subject_attribute("CN");
  auto ou = leaf.subject_attribute("OU");
  auto o = leaf.subject_attribute("O");
  if (!cn || !is_valid_identifier(*cn))
    return core::make_error(ErrorCode::kCertificateInvalid,
                            "'" + leaf.subject() + "' has no valid CN");
  auto role = ou ? parse_role(*ou)
                 : core::Result<Role>(core::make_error(ErrorCode::kInvalidArgument, "no OU"));
  if (!role)
    return core::make_error(ErrorCode::kCertificateWrongRole,
                            "'" + leaf.subject() + "' names no role in its OU");
  if (expected_role && *role != *expected_role) {
    return core::make_error(ErrorCode::kCertificateWrongRole,
                            "'" + leaf.subject() + "' has role " + std::string(role_name(*role)) +
                                ", not " + std::string(role_name(*expected_role)));
  }
  if (!o || o != issuer.subject_attribute("O")) {
    return core::make_error(ErrorCode::kCertificateUntrusted,
                            "'" + leaf.subject() + "' names a hospital other than its CA's ('" +
                                issuer.subject() + "')");
  }
  out.role = *role;
  out.subject_id = *cn;
  out.hospital_id = *o;
  return core::success();
}
}  // namespace

core::Result<ValidatedCertificate> validate_chain(const Certificate& leaf,
                                                  const TrustAnchors& anchors,
                                                  const std::vector<Crl>& crls, std::time_t at,
                                                  std::optional<Role> expected_role) {
  if (anchors.roots.empty())
    return core::make_error(ErrorCode::kCertificateUntrusted, "no trusted CA certificates given");
  X509StorePtr store(X509_STORE_new());
  CertStack untrusted(sk_X509_new_null());
  CrlStack crl_stack(sk_X509_CRL_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !crl_stack || !ctx)
    return core::openssl_error(ErrorCode::kCryptoError, "allocate verify context");
  for (const Certificate& root : anchors.roots) {
    if (X509_STORE_add_cert(store.get(), root.get()) != 1)
      return core::openssl_error(ErrorCode::kCryptoError, "add trust anchor");
  }
  for (const Certificate& intermediate : anchors.intermediates) {
    if (!X509_up_ref(intermediate.get()) || !sk_X509_push(untrusted.get(), intermediate.get())) {
      return core::openssl_error(ErrorCode::kCryptoError, "add intermediate");
    }
  }
  for (const Crl& crl : crls) {
    if (!X509_CRL_up_ref(crl.get()) || !sk_X509_CRL_push(crl_stack.get(), crl.get())) {
      return core::openssl_error(ErrorCode::kCryptoError, "add CRL");
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get()) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "init verify context");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, at);
  X509_VERIFY_PARAM_set_depth(param, kMaxChainDepth - 2);  // intermediates between leaf and root
  unsigned long flags = X509_V_FLAG_X509_STRICT;
  if (!crls.empty()) {
    X509_STORE_CTX_set0_crls(ctx.get(), crl_stack.get());
    flags |= X509_V_FLAG_CRL_CHECK;
  }
  X509_VERIFY_PARAM_set_flags(param, flags);

  if (X509_verify_cert(ctx.get()) != 1) {
    int error = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    X509* at_fault = X509_STORE_CTX_get_current_cert(ctx.get());
    std::string who = at_fault != nullptr ? detail::name_to_string(X509_get_subject_name(at_fault))
                                          : leaf.subject();
    ERR_clear_error();
    return core::make_error(code_for(error), "'" + who + "' (depth " + std::to_string(depth) +
                                                 "): " + X509_verify_cert_error_string(error));
  }

  CertStack chain(X509_STORE_CTX_get1_chain(ctx.get()));
  ValidatedCertificate out{leaf, Role::kDoctor, {}, {}, {}};
  for (int i = 0; chain && i < sk_X509_num(chain.get()); ++i) {
    X509* cert = sk_X509_value(chain.get(), i);
    X509_up_ref(cert);
    out.path.push_back(Certificate::adopt(core::X509Ptr(cert)));
  }
  if (out.path.size() < 2)
    return core::make_error(ErrorCode::kCertificateInvalid,
                            "'" + leaf.subject() + "' is a trust anchor, not a role certificate");
  MEDLEDGER_TRY(check_leaf(leaf, out.path[1], expected_role, out));
  return out;
}

}  // namespace medledger::ca
