// CRL v2 signed through the Signer.
#include <openssl/x509v3.h>

#include "external_signing.h"
#include "medledger/ca/authority.h"
#include "medledger/ca/limits.h"
#include "medledger/core/assert.h"
#include "x509_build.h"

namespace medledger::ca {

using core::ErrorCode;

namespace {
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, core::OpenSslDeleter<X509_REVOKED_free>>;
using Asn1EnumeratedPtr =
    std::unique_ptr<ASN1_ENUMERATED, core::OpenSslDeleter<ASN1_ENUMERATED_free>>;

core::Result<X509RevokedPtr> revoked_entry(const RevokedEntry& entry) {
  BIGNUM* raw = nullptr;
  if (entry.serial_hex.empty() || entry.serial_hex.size() > 2 * kSerialBytes + 2 ||
      BN_hex2bn(&raw, entry.serial_hex.c_str()) != static_cast<int>(entry.serial_hex.size())) {
    BN_free(raw);
    return core::make_error(ErrorCode::kInvalidArgument,
                            "serial '" + entry.serial_hex + "' is not hex");
  }
  core::BignumPtr bn(raw);
  detail::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  detail::Asn1TimePtr when(ASN1_TIME_set(nullptr, entry.revoked_at));
  X509RevokedPtr revoked(X509_REVOKED_new());
  if (!serial || !when || !revoked ||
      X509_REVOKED_set_serialNumber(revoked.get(), serial.get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), when.get()) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "CRL entry");
  }
  // RFC 5280 5.3.1: reasonCode unspecified SHOULD be absent.
  if (entry.reason != RevocationReason::kUnspecified) {
    Asn1EnumeratedPtr reason(ASN1_ENUMERATED_new());
    if (!reason || ASN1_ENUMERATED_set(reason.get(), static_cast<long>(entry.reason)) != 1 ||
        X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, reason.get(), 0, 0) != 1) {
      return core::openssl_error(ErrorCode::kCryptoError, "CRL entry reason");
    }
  }
  return revoked;
}
}  // namespace

core::Result<Crl> CertificateAuthority::make_crl(const std::vector<RevokedEntry>& revoked,
                                                 std::uint64_t crl_number, std::time_t now,
                                                 int validity_days) {
  if (validity_days <= 0 || validity_days > kMaxCrlValidityDays) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "CRL validity must be 1.." + std::to_string(kMaxCrlValidityDays) + " days");
  }
  return make_crl_until(revoked, crl_number, now, now + validity_days * detail::kSecondsPerDay);
}

core::Result<Crl> CertificateAuthority::make_crl_until(const std::vector<RevokedEntry>& revoked,
                                                       std::uint64_t crl_number, std::time_t now,
                                                       std::time_t next_update_at) {
  if (next_update_at <= now ||
      next_update_at - now > kMaxCrlValidityDays * detail::kSecondsPerDay) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "a CRL's nextUpdate must come after its thisUpdate, by at most " +
                                std::to_string(kMaxCrlValidityDays) + " days");
  }
  if (crl_number == 0)
    return core::make_error(ErrorCode::kInvalidArgument, "CRL numbers start at 1");
  X509CrlPtr crl(X509_CRL_new());
  detail::Asn1TimePtr this_update(ASN1_TIME_set(nullptr, now));
  detail::Asn1TimePtr next_update(ASN1_TIME_set(nullptr, next_update_at));
  if (!crl || !this_update || !next_update ||
      X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(certificate_.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "fill CRL fields");
  }
  for (const RevokedEntry& entry : revoked) {
    MEDLEDGER_TRY_ASSIGN(auto item, revoked_entry(entry));
    if (X509_CRL_add0_revoked(crl.get(), item.get()) != 1)
      return core::openssl_error(ErrorCode::kCryptoError, "add CRL entry");
    item.release();  // owned by the CRL now
  }
  X509_CRL_sort(crl.get());

  detail::Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_uint64(number.get(), crl_number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "cRLNumber extension");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, certificate_.get(), nullptr, nullptr, crl.get(), 0);
  detail::X509ExtensionPtr aki(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError, "authorityKeyIdentifier extension");
  }
  MEDLEDGER_TRY_ASSIGN(auto signed_crl, detail::sign_crl(std::move(crl), *signer_));
  MEDLEDGER_ASSERT(signed_crl.number() == crl_number);
  MEDLEDGER_ASSERT(signed_crl.revoked_serials().size() == revoked.size());
  return signed_crl;
}

}  // namespace medledger::ca
