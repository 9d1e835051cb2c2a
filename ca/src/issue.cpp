// Issuing role certificates: the profile checks and the end-entity extensions.
#include <openssl/x509v3.h>

#include <algorithm>

#include "external_signing.h"
#include "medledger/ca/authority.h"
#include "medledger/ca/limits.h"
#include "medledger/core/assert.h"
#include "x509_build.h"

namespace medledger::ca {

using core::ErrorCode;

namespace {
using ExtensionStack =
    std::unique_ptr<STACK_OF(X509_EXTENSION), void (*)(STACK_OF(X509_EXTENSION)*)>;
void free_extensions(STACK_OF(X509_EXTENSION) * stack) {
  sk_X509_EXTENSION_pop_free(stack, X509_EXTENSION_free);
}

core::Error violation(std::string message) {
  return core::make_error(ErrorCode::kProfileViolation, std::move(message));
}

core::Result<void> check_key(EVP_PKEY* key, const Profile& profile) {
  if (detail::is_p256(key)) return core::success();
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 && profile.allows_ed25519)
    return core::success();
  return violation("role " + std::string(role_name(profile.role)) + " may hold " +
                   (profile.allows_ed25519 ? "P-256 or Ed25519" : "P-256") + " keys, not " +
                   detail::describe_key(key));
}

// Each attribute the CSR names must be CN, OU or O and agree with what the CA
// writes: a CSR cannot put words in the CA's mouth, and an empty subject is fine.
core::Result<void> check_subject(const X509_NAME* name, const IssueRequest& request,
                                 const std::string& hospital) {
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    const std::string* expected = nullptr;
    std::string role(role_name(request.role));
    if (nid == NID_commonName)
      expected = &request.subject_id;
    else if (nid == NID_organizationalUnitName)
      expected = &role;
    else if (nid == NID_organizationName)
      expected = &hospital;
    else
      return violation(std::string("CSR subject may hold only CN, OU and O, not ") +
                       OBJ_nid2sn(nid));
    unsigned char* utf8 = nullptr;
    int size = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    std::string value =
        size >= 0 ? std::string(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(size)) : "";
    OPENSSL_free(utf8);
    if (value != *expected) {
      return violation(std::string("CSR subject ") + OBJ_nid2sn(nid) + "=" + value +
                       " disagrees with " + *expected +
                       (nid == NID_organizationName ? " (a name outside this hospital)" : ""));
    }
  }
  return core::success();
}

// Returns the subjectAltName extension to copy (nodes only), or null.
core::Result<X509_EXTENSION*> check_extensions(const STACK_OF(X509_EXTENSION) * extensions,
                                               const Profile& profile) {
  X509_EXTENSION* alt_names = nullptr;
  for (int i = 0; i < sk_X509_EXTENSION_num(extensions); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(extensions, i);
    int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (nid == NID_basic_constraints) {
      auto* bc = static_cast<BASIC_CONSTRAINTS*>(X509V3_EXT_d2i(ext));
      bool ca = bc != nullptr && bc->ca;
      BASIC_CONSTRAINTS_free(bc);
      if (ca) return violation("CSR requests CA:TRUE; role certificates are never CAs");
    } else if (nid == NID_key_usage) {
      auto* usage = static_cast<ASN1_BIT_STRING*>(X509V3_EXT_d2i(ext));
      bool ca_usage = usage != nullptr &&
                      (ASN1_BIT_STRING_get_bit(usage, 5) || ASN1_BIT_STRING_get_bit(usage, 6));
      ASN1_BIT_STRING_free(usage);
      if (ca_usage) return violation("CSR requests keyCertSign/cRLSign, which only CAs have");
    } else if (nid == NID_subject_alt_name) {
      if (!profile.allows_subject_alt_names) {
        return violation("role " + std::string(role_name(profile.role)) +
                         " may not have subjectAltName entries");
      }
      auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
      if (names == nullptr)
        return core::make_error(ErrorCode::kCsrInvalid, "CSR subjectAltName cannot be decoded");
      int count = sk_GENERAL_NAME_num(names);
      bool only_dns_ip = true;
      for (int j = 0; j < count; ++j) {
        int type = sk_GENERAL_NAME_value(names, j)->type;
        only_dns_ip = only_dns_ip && (type == GEN_DNS || type == GEN_IPADD);
      }
      GENERAL_NAMES_free(names);
      if (!only_dns_ip)
        return violation("a node's subjectAltName may hold only DNS names and IP addresses");
      if (count == 0 || static_cast<std::size_t>(count) > kMaxSubjectAltNames) {
        return violation("a node's subjectAltName must hold 1.." +
                         std::to_string(kMaxSubjectAltNames) + " entries");
      }
      alt_names = ext;
    }
    // Other requested extensions (extendedKeyUsage, ...) are ignored: the profile decides them.
  }
  return alt_names;
}

// A certificate of `ca` that is no CA: fields set, basicConstraints critical CA:FALSE and
// keyUsage `key_usage`; `ctx` is left set up for the caller's further extensions.
core::Result<core::X509Ptr> new_end_entity(const Certificate& ca, const X509_NAME* subject,
                                           EVP_PKEY* key, std::time_t now, std::time_t not_after,
                                           const std::string& key_usage, X509V3_CTX& ctx) {
  MEDLEDGER_TRY_ASSIGN(auto cert,
                       detail::new_certificate(subject, X509_get_subject_name(ca.get()), key,
                                               now - kNotBeforeBackdateSeconds, not_after));
  X509V3_set_ctx(&ctx, ca.get(), cert.get(), nullptr, nullptr, 0);
  MEDLEDGER_TRY(
      detail::add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  MEDLEDGER_TRY(detail::add_extension(cert.get(), &ctx, NID_key_usage, key_usage.c_str()));
  return cert;
}

// authorityInfoAccess OCSP and crlDistributionPoints, when configured.
core::Result<void> add_publication_points(X509* cert, X509V3_CTX* ctx,
                                          const PublicationPoints& points) {
  if (!points.ocsp_url.empty()) {
    MEDLEDGER_TRY(
        detail::add_extension(cert, ctx, NID_info_access, ("OCSP;URI:" + points.ocsp_url).c_str()));
  }
  if (!points.crl_url.empty()) {
    MEDLEDGER_TRY(detail::add_extension(cert, ctx, NID_crl_distribution_points,
                                        ("URI:" + points.crl_url).c_str()));
  }
  return core::success();
}

std::string key_usage_for(const Profile& profile) {
  std::string usage = "critical,digitalSignature";
  if (profile.content_commitment) usage += ",nonRepudiation";
  if (profile.key_agreement) usage += ",keyAgreement";
  return usage;
}
}  // namespace

core::Result<Certificate> CertificateAuthority::issue(const CertificateRequest& csr,
                                                      const IssueRequest& request,
                                                      std::time_t now) {
  MEDLEDGER_TRY(csr.verify_signature());
  MEDLEDGER_TRY_ASSIGN(auto spki, csr.public_key_spki());
  return issue_checked(spki, request, csr.get(), now);
}

core::Result<Certificate> CertificateAuthority::issue_for_key(core::ByteView spki,
                                                              const IssueRequest& request,
                                                              std::time_t now) {
  return issue_checked(spki, request, nullptr, now);
}

core::Result<Certificate> CertificateAuthority::issue_checked(core::ByteView spki,
                                                              const IssueRequest& request,
                                                              const X509_REQ* csr,
                                                              std::time_t now) {
  if (!is_valid_identifier(request.subject_id)) {
    return core::make_error(ErrorCode::kInvalidArgument, "subject id '" + request.subject_id +
                                                             "' must be 1-64 of [A-Za-z0-9._-]");
  }
  const Profile& profile = profile_for(request.role);
  MEDLEDGER_TRY_ASSIGN(auto key, detail::parse_spki(spki));
  MEDLEDGER_TRY(check_key(key.get(), profile));

  if (now < certificate_.not_before())
    return core::make_error(ErrorCode::kCertificateNotYetValid,
                            "the CA certificate is not yet valid");
  if (now >= certificate_.not_after())
    return core::make_error(ErrorCode::kCertificateExpired, "the CA certificate has expired");
  int days = request.validity_days.value_or(profile.default_validity_days);
  if (days <= 0)
    return core::make_error(ErrorCode::kInvalidArgument, "validity must be at least one day");
  if (days > profile.max_validity_days) {
    return violation(std::to_string(days) + " days is longer than the " +
                     std::to_string(profile.max_validity_days) + " days role " +
                     std::string(role_name(profile.role)) + " may have");
  }
  std::time_t not_after = now + days * detail::kSecondsPerDay;
  if (not_after > certificate_.not_after()) {
    // A certificate never outlives its CA: an explicit request is refused, the default is
    // shortened.
    if (request.validity_days) return violation("the certificate would outlive the CA certificate");
    not_after = certificate_.not_after();
  }
  MEDLEDGER_ASSERT(now < not_after && not_after <= certificate_.not_after());

  ExtensionStack requested(nullptr, free_extensions);
  X509_EXTENSION* alt_names = nullptr;
  if (csr != nullptr) {
    MEDLEDGER_TRY(check_subject(X509_REQ_get_subject_name(csr), request, hospital_id_));
    requested.reset(X509_REQ_get_extensions(const_cast<X509_REQ*>(csr)));
    MEDLEDGER_TRY_ASSIGN(auto checked, check_extensions(requested.get(), profile));
    alt_names = checked;
  }

  MEDLEDGER_TRY_ASSIGN(auto subject,
                       detail::make_name({{"O", hospital_id_},
                                          {"OU", std::string(role_name(request.role))},
                                          {"CN", request.subject_id}}));
  X509V3_CTX ctx;
  MEDLEDGER_TRY_ASSIGN(auto cert, new_end_entity(certificate_, subject.get(), key.get(), now,
                                                 not_after, key_usage_for(profile), ctx));
  MEDLEDGER_TRY(
      detail::add_extension(cert.get(), &ctx, NID_ext_key_usage,
                            profile.server_auth ? "serverAuth,clientAuth" : "clientAuth"));
  MEDLEDGER_TRY(detail::add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  MEDLEDGER_TRY(
      detail::add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  if (alt_names != nullptr && X509_add_ext(cert.get(), alt_names, -1) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "copy subjectAltName");
  }
  MEDLEDGER_TRY(add_publication_points(cert.get(), &ctx, publication_));
  MEDLEDGER_TRY_ASSIGN(auto issued, detail::sign_certificate(std::move(cert), *signer_));
  // What was signed is what the profile says: never a CA, serverAuth only for its role.
  MEDLEDGER_ASSERT(!issued.is_ca());
  MEDLEDGER_ASSERT((X509_get_extended_key_usage(issued.get()) & XKU_SSL_SERVER) ==
                   (profile.server_auth ? XKU_SSL_SERVER : 0u));
  return issued;
}

core::Result<void> check_publication_url(std::string_view url) {
  const bool scheme = url.starts_with("http://") || url.starts_with("https://");
  const bool plain = std::all_of(
      url.begin(), url.end(), [](char c) { return c > ' ' && c < 0x7f && c != ',' && c != ';'; });
  if (!scheme || !plain || url.size() > kMaxPublicationUrlLength ||
      url.find("://") + 3 == url.size()) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "publication URL '" + std::string(url) +
                                "' must be http:// or https://, printable ASCII without spaces, "
                                "commas or semicolons, at most " +
                                std::to_string(kMaxPublicationUrlLength) + " characters");
  }
  return core::success();
}

core::Result<void> CertificateAuthority::set_publication_points(PublicationPoints points) {
  for (const std::string* url : {&points.ocsp_url, &points.crl_url}) {
    if (!url->empty()) MEDLEDGER_TRY(check_publication_url(*url));
  }
  publication_ = std::move(points);
  return core::success();
}

core::Result<Certificate> CertificateAuthority::issue_ocsp_responder(core::ByteView spki,
                                                                     int validity_days,
                                                                     std::time_t now) {
  if (validity_days <= 0 || validity_days > kMaxOcspResponderValidityDays) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "an OCSP responder certificate lasts 1.." +
                                std::to_string(kMaxOcspResponderValidityDays) + " days");
  }
  MEDLEDGER_TRY_ASSIGN(auto key, detail::parse_spki(spki));
  if (!detail::is_p256(key.get())) {
    return violation("an OCSP responder key must be P-256, not " + detail::describe_key(key.get()));
  }
  if (now < certificate_.not_before() || now >= certificate_.not_after())
    return core::make_error(ErrorCode::kCertificateExpired, "the CA certificate is not valid now");
  const std::time_t not_after =
      std::min<std::time_t>(now + validity_days * detail::kSecondsPerDay, certificate_.not_after());
  MEDLEDGER_TRY_ASSIGN(auto subject, detail::make_name({{"O", hospital_id_},
                                                        {"CN", hospital_id_ + " OCSP Responder"}}));
  X509V3_CTX ctx;
  MEDLEDGER_TRY_ASSIGN(auto cert, new_end_entity(certificate_, subject.get(), key.get(), now,
                                                 not_after, "critical,digitalSignature", ctx));
  MEDLEDGER_TRY(detail::add_extension(cert.get(), &ctx, NID_ext_key_usage, "OCSPSigning"));
  // RFC 6960 4.2.2.2.1: clients trust the delegate for its lifetime without asking.
  MEDLEDGER_TRY(detail::add_extension(cert.get(), &ctx, NID_id_pkix_OCSP_noCheck, "ignored"));
  MEDLEDGER_TRY(detail::add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  MEDLEDGER_TRY(
      detail::add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  MEDLEDGER_TRY_ASSIGN(auto issued, detail::sign_certificate(std::move(cert), *signer_));
  MEDLEDGER_ASSERT((X509_get_extended_key_usage(issued.get()) & XKU_OCSP_SIGN) != 0);
  MEDLEDGER_ASSERT(!issued.is_ca());
  return issued;
}

}  // namespace medledger::ca
