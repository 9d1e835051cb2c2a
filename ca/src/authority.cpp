// CA certificates: self-signed, intermediate (request + root signature), and
// binding a CA certificate to its Signer.
#include "medledger/ca/authority.h"

#include "external_signing.h"
#include "medledger/ca/limits.h"
#include "x509_build.h"

namespace medledger::ca {

using core::ErrorCode;

namespace {
struct CaProfile {
  std::string hospital_id;
  std::string common_name;
  int validity_days;
  bool explicit_validity;
  int path_length;
};

core::Result<CaProfile> check_options(const CaOptions& options) {
  if (!is_valid_identifier(options.hospital_id)) {
    return core::make_error(ErrorCode::kInvalidArgument, "hospital id '" + options.hospital_id +
                                                             "' must be 1-64 of [A-Za-z0-9._-]");
  }
  if (options.validity_days < 0 || options.validity_days > kMaxCaValidityDays) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "CA validity must be 1.." + std::to_string(kMaxCaValidityDays) + " days");
  }
  if (options.path_length < 0 || options.path_length > kMaxChainDepth - 2) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "CA path length must be 0.." + std::to_string(kMaxChainDepth - 2));
  }
  std::string common_name =
      options.common_name.empty() ? options.hospital_id + " CA" : options.common_name;
  if (common_name.size() > kMaxIdLength)
    return core::make_error(ErrorCode::kInvalidArgument, "CA common name is longer than 64");
  return CaProfile{options.hospital_id, common_name,
                   options.validity_days == 0 ? kDefaultCaValidityDays : options.validity_days,
                   options.validity_days != 0, options.path_length};
}

core::Result<void> add_ca_extensions(X509* cert, X509* issuer, int path_length) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::string constraints = "critical,CA:TRUE,pathlen:" + std::to_string(path_length);
  MEDLEDGER_TRY(detail::add_extension(cert, &ctx, NID_basic_constraints, constraints.c_str()));
  MEDLEDGER_TRY(detail::add_extension(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  MEDLEDGER_TRY(detail::add_extension(cert, &ctx, NID_subject_key_identifier, "hash"));
  return detail::add_extension(cert, &ctx, NID_authority_key_identifier, "keyid:always");
}

// Requests name at most CN and O; each present must be what the CA will write.
core::Result<void> check_ca_request_subject(const X509_REQ* req, const CaProfile& profile) {
  const X509_NAME* name = X509_REQ_get_subject_name(req);
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(name, i)));
    if (nid != NID_commonName && nid != NID_organizationName) {
      return core::make_error(
          ErrorCode::kProfileViolation,
          std::string("CA request subject may hold only CN and O, not ") + OBJ_nid2sn(nid));
    }
  }
  auto o = detail::name_attribute(name, "O");
  if (o && *o != profile.hospital_id) {
    return core::make_error(
        ErrorCode::kProfileViolation,
        "CA request names O=" + *o + ", not the hospital " + profile.hospital_id);
  }
  auto cn = detail::name_attribute(name, "CN");
  if (cn && *cn != profile.common_name) {
    return core::make_error(ErrorCode::kProfileViolation,
                            "CA request names CN=" + *cn + ", expected " + profile.common_name);
  }
  return core::success();
}

core::Result<detail::X509NamePtr> ca_name(const CaProfile& profile) {
  return detail::make_name({{"O", profile.hospital_id}, {"CN", profile.common_name}});
}
}  // namespace

core::Result<Certificate> CertificateAuthority::self_signed(core::Signer& signer,
                                                            const CaOptions& options,
                                                            std::time_t now) {
  MEDLEDGER_TRY(detail::require_p256_ca_key(signer));
  MEDLEDGER_TRY_ASSIGN(auto profile, check_options(options));
  MEDLEDGER_TRY_ASSIGN(auto name, ca_name(profile));
  MEDLEDGER_TRY_ASSIGN(auto key, detail::parse_spki(signer.public_key_spki()));
  MEDLEDGER_TRY_ASSIGN(
      auto cert,
      detail::new_certificate(name.get(), name.get(), key.get(), now - kNotBeforeBackdateSeconds,
                              now + profile.validity_days * detail::kSecondsPerDay));
  MEDLEDGER_TRY(add_ca_extensions(cert.get(), cert.get(), profile.path_length));
  return detail::sign_certificate(std::move(cert), signer);
}

core::Result<CertificateRequest> CertificateAuthority::intermediate_request(
    core::Signer& signer, const CaOptions& options) {
  MEDLEDGER_TRY(detail::require_p256_ca_key(signer));
  MEDLEDGER_TRY_ASSIGN(auto profile, check_options(options));
  MEDLEDGER_TRY_ASSIGN(auto name, ca_name(profile));
  MEDLEDGER_TRY_ASSIGN(auto key, detail::parse_spki(signer.public_key_spki()));
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "fill CA request");
  }
  return detail::sign_request(std::move(req), signer);
}

core::Result<CertificateAuthority> CertificateAuthority::open(
    core::Signer& signer, Certificate certificate, std::vector<Certificate> chain_above) {
  MEDLEDGER_TRY(detail::require_p256_ca_key(signer));
  if (!certificate.is_ca() || (X509_get_key_usage(certificate.get()) & KU_KEY_CERT_SIGN) == 0) {
    return core::make_error(
        ErrorCode::kCertificateInvalid,
        "'" + certificate.subject() + "' is not a CA certificate with keyCertSign");
  }
  if (certificate.public_key_spki() != signer.public_key_spki()) {
    return core::make_error(ErrorCode::kCertificateInvalid,
                            "the CA certificate does not certify the signer's key");
  }
  auto hospital = certificate.subject_attribute("O");
  if (!hospital || !is_valid_identifier(*hospital)) {
    return core::make_error(ErrorCode::kCertificateInvalid,
                            "the CA certificate has no valid O (hospital id)");
  }
  if (chain_above.size() + 1 > static_cast<std::size_t>(kMaxChainDepth)) {
    return core::make_error(ErrorCode::kCertificateInvalid,
                            "the CA chain is longer than " + std::to_string(kMaxChainDepth));
  }
  // Each certificate must be issued and signed by the next; the last must be self-signed.
  const Certificate* child = &certificate;
  for (const Certificate& parent : chain_above) {
    EVP_PKEY* parent_key = X509_get0_pubkey(parent.get());
    if (X509_check_issued(parent.get(), child->get()) != X509_V_OK || parent_key == nullptr ||
        X509_verify(child->get(), parent_key) != 1) {
      return core::make_error(
          ErrorCode::kCertificateInvalid,
          "'" + child->subject() + "' is not issued by '" + parent.subject() + "'");
    }
    child = &parent;
  }
  if (!child->is_self_signed()) {
    return core::make_error(
        ErrorCode::kCertificateInvalid,
        "the chain does not end in a self-signed root ('" + child->subject() + "')");
  }
  return CertificateAuthority(signer, std::move(certificate), std::move(chain_above),
                              std::move(*hospital));
}

core::Result<Certificate> CertificateAuthority::issue_intermediate(const CertificateRequest& csr,
                                                                   const CaOptions& options,
                                                                   std::time_t now) {
  if (X509_get_pathlen(certificate_.get()) == 0) {
    return core::make_error(ErrorCode::kProfileViolation,
                            "this CA has pathlen 0 and may not certify another CA");
  }
  MEDLEDGER_TRY_ASSIGN(auto profile, check_options(options));
  MEDLEDGER_TRY(csr.verify_signature());
  MEDLEDGER_TRY(check_ca_request_subject(csr.get(), profile));
  EVP_PKEY* key = X509_REQ_get0_pubkey(csr.get());
  if (key == nullptr || !detail::is_p256(key)) {
    return core::make_error(ErrorCode::kProfileViolation, "an intermediate CA key must be P-256");
  }
  std::time_t not_after = now + profile.validity_days * detail::kSecondsPerDay;
  if (not_after > certificate_.not_after()) {
    if (profile.explicit_validity)
      return core::make_error(ErrorCode::kProfileViolation,
                              "the intermediate would outlive its issuer");
    not_after = certificate_.not_after();
  }
  MEDLEDGER_TRY_ASSIGN(auto name, ca_name(profile));
  MEDLEDGER_TRY_ASSIGN(
      auto cert, detail::new_certificate(name.get(), X509_get_subject_name(certificate_.get()), key,
                                         now - kNotBeforeBackdateSeconds, not_after));
  MEDLEDGER_TRY(add_ca_extensions(cert.get(), certificate_.get(), 0));
  return detail::sign_certificate(std::move(cert), *signer_);
}

std::vector<Certificate> CertificateAuthority::chain() const {
  std::vector<Certificate> out{certificate_};
  out.insert(out.end(), chain_above_.begin(), chain_above_.end());
  return out;
}

const Certificate& CertificateAuthority::root() const {
  return chain_above_.empty() ? certificate_ : chain_above_.back();
}

}  // namespace medledger::ca
