#include "medledger/ca/certificate.h"

#include <ctime>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "medledger/ca/limits.h"
#include "x509_build.h"

namespace medledger::ca {

using core::ErrorCode;

namespace {
core::Result<void> check_size(core::ByteView data, ErrorCode code, const char* what) {
  if (data.empty()) return core::make_error(code, std::string(what) + " is empty");
  if (data.size() > kMaxEncodedInput) {
    return core::make_error(
        code, std::string(what) + " is larger than " + std::to_string(kMaxEncodedInput) + " bytes");
  }
  return core::success();
}

core::BioPtr memory_bio(core::ByteView data) {
  return core::BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}
}  // namespace

// ---- Certificate ------------------------------------------------------------

Certificate Certificate::adopt(core::X509Ptr x509) {
  return Certificate(std::shared_ptr<X509>(x509.release(), X509_free));
}

core::Result<Certificate> Certificate::from_pem(std::string_view pem) {
  core::ByteView data(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size());
  MEDLEDGER_TRY(check_size(data, ErrorCode::kMalformedEncoding, "certificate PEM"));
  core::BioPtr bio = memory_bio(data);
  core::X509Ptr x509(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x509) return core::openssl_error(ErrorCode::kMalformedEncoding, "not a PEM certificate");
  return adopt(std::move(x509));
}

core::Result<Certificate> Certificate::from_der(core::ByteView der) {
  MEDLEDGER_TRY(check_size(der, ErrorCode::kMalformedEncoding, "certificate DER"));
  const unsigned char* p = der.data();
  core::X509Ptr x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x509) return core::openssl_error(ErrorCode::kMalformedEncoding, "not a DER certificate");
  if (p != der.data() + der.size())
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "trailing bytes after the DER certificate");
  return adopt(std::move(x509));
}

core::Result<Certificate> Certificate::parse(core::ByteView pem_or_der) {
  if (detail::looks_like_pem(pem_or_der)) return from_pem(core::to_string(pem_or_der));
  return from_der(pem_or_der);
}

std::string Certificate::to_pem() const { return detail::to_pem(x509_.get(), PEM_write_bio_X509); }
core::Bytes Certificate::to_der() const { return detail::to_der(x509_.get(), i2d_X509); }
std::string Certificate::subject() const {
  return detail::name_to_string(X509_get_subject_name(x509_.get()));
}
std::string Certificate::issuer() const {
  return detail::name_to_string(X509_get_issuer_name(x509_.get()));
}

std::optional<std::string> Certificate::subject_attribute(std::string_view short_name) const {
  return detail::name_attribute(X509_get_subject_name(x509_.get()), short_name);
}

std::string Certificate::serial_hex() const {
  return detail::integer_hex(X509_get0_serialNumber(x509_.get()));
}
std::time_t Certificate::not_before() const {
  return detail::to_time_t(X509_get0_notBefore(x509_.get()));
}
std::string utc_text(std::time_t time) {
  char text[32] = "?";
  struct tm parts {};
  if (gmtime_r(&time, &parts) != nullptr)
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::time_t Certificate::not_after() const {
  return detail::to_time_t(X509_get0_notAfter(x509_.get()));
}

core::Bytes Certificate::public_key_spki() const {
  return detail::to_der(X509_get_X509_PUBKEY(x509_.get()), i2d_X509_PUBKEY);
}

bool Certificate::is_ca() const { return (X509_get_extension_flags(x509_.get()) & EXFLAG_CA) != 0; }

bool Certificate::is_self_signed() const { return X509_self_signed(x509_.get(), 1) == 1; }

core::Result<std::vector<Certificate>> parse_pem_bundle(std::string_view pem) {
  core::ByteView data(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size());
  MEDLEDGER_TRY(check_size(data, ErrorCode::kMalformedEncoding, "certificate bundle"));
  core::BioPtr bio = memory_bio(data);
  std::vector<Certificate> out;
  while (true) {
    core::X509Ptr x509(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x509) break;
    if (out.size() == kMaxBundleCertificates) {
      return core::make_error(
          ErrorCode::kMalformedEncoding,
          "bundle holds more than " + std::to_string(kMaxBundleCertificates) + " certificates");
    }
    out.push_back(Certificate::adopt(std::move(x509)));
  }
  ERR_clear_error();  // the end of the bundle leaves a "no start line" error behind
  if (out.empty())
    return core::make_error(ErrorCode::kMalformedEncoding, "no PEM certificate in the bundle");
  return out;
}

core::Result<core::Bytes> parse_public_key(core::ByteView pem_or_der) {
  MEDLEDGER_TRY(check_size(pem_or_der, ErrorCode::kMalformedEncoding, "public key"));
  if (!detail::looks_like_pem(pem_or_der)) {
    MEDLEDGER_TRY(detail::parse_spki(pem_or_der));
    return core::Bytes(pem_or_der.begin(), pem_or_der.end());
  }
  core::BioPtr bio = memory_bio(pem_or_der);
  core::EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return core::openssl_error(ErrorCode::kMalformedEncoding, "not a PEM public key");
  return detail::spki_of(key.get());
}

// ---- Crl --------------------------------------------------------------------

Crl Crl::adopt(X509CrlPtr crl) {
  return Crl(std::shared_ptr<X509_CRL>(crl.release(), X509_CRL_free));
}

core::Result<Crl> Crl::parse(core::ByteView pem_or_der) {
  MEDLEDGER_TRY(check_size(pem_or_der, ErrorCode::kCrlInvalid, "CRL"));
  X509CrlPtr crl;
  if (detail::looks_like_pem(pem_or_der)) {
    core::BioPtr bio = memory_bio(pem_or_der);
    crl.reset(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const unsigned char* p = pem_or_der.data();
    crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(pem_or_der.size())));
    if (crl && p != pem_or_der.data() + pem_or_der.size()) {
      return core::make_error(ErrorCode::kCrlInvalid, "trailing bytes after the DER CRL");
    }
  }
  if (!crl) return core::openssl_error(ErrorCode::kCrlInvalid, "not a PEM or DER CRL");
  return adopt(std::move(crl));
}

std::string Crl::to_pem() const { return detail::to_pem(crl_.get(), PEM_write_bio_X509_CRL); }
core::Bytes Crl::to_der() const { return detail::to_der(crl_.get(), i2d_X509_CRL); }
std::string Crl::issuer() const { return detail::name_to_string(X509_CRL_get_issuer(crl_.get())); }
std::time_t Crl::this_update() const {
  return detail::to_time_t(X509_CRL_get0_lastUpdate(crl_.get()));
}

std::optional<std::time_t> Crl::next_update() const {
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl_.get());
  if (next == nullptr) return std::nullopt;
  return detail::to_time_t(next);
}

std::optional<std::uint64_t> Crl::number() const {
  detail::Asn1IntegerPtr number(static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(crl_.get(), NID_crl_number, nullptr, nullptr)));
  std::uint64_t value = 0;
  if (!number || ASN1_INTEGER_get_uint64(&value, number.get()) != 1) return std::nullopt;
  return value;
}

std::vector<std::string> Crl::revoked_serials() const {
  std::vector<std::string> out;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl_.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    out.push_back(
        detail::integer_hex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i))));
  }
  return out;
}

std::vector<RevokedEntry> Crl::entries() const {
  std::vector<RevokedEntry> out;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl_.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    const X509_REVOKED* item = sk_X509_REVOKED_value(revoked, i);
    RevokedEntry entry;
    entry.serial_hex = detail::integer_hex(X509_REVOKED_get0_serialNumber(item));
    entry.revoked_at = detail::to_time_t(X509_REVOKED_get0_revocationDate(item));
    auto* reason = static_cast<ASN1_ENUMERATED*>(
        X509_REVOKED_get_ext_d2i(item, NID_crl_reason, nullptr, nullptr));
    if (reason != nullptr) {
      entry.reason = static_cast<RevocationReason>(ASN1_ENUMERATED_get(reason));
      ASN1_ENUMERATED_free(reason);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace medledger::ca
