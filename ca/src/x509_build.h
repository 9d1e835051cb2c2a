// Small OpenSSL helpers shared by the ca sources (not public).
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "medledger/core/bytes.h"
#include "medledger/core/openssl.h"
#include "medledger/core/result.h"

namespace medledger::ca::detail {

using X509NamePtr = std::unique_ptr<X509_NAME, core::OpenSslDeleter<X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, core::OpenSslDeleter<X509_EXTENSION_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, core::OpenSslDeleter<ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, core::OpenSslDeleter<ASN1_TIME_free>>;

inline constexpr long kSecondsPerDay = 24L * 60 * 60;

/// A name built from (short name, value) pairs, most significant first (O, OU, CN).
core::Result<X509NamePtr> make_name(
    std::initializer_list<std::pair<const char*, std::string>> rdns);
/// RFC 2253 string of a name ("CN=a,OU=b,O=c").
std::string name_to_string(const X509_NAME* name);
/// Value of the first entry with this short name ("CN", "O"...).
std::optional<std::string> name_attribute(const X509_NAME* name, std::string_view short_name);

/// A fresh random positive serial of kSerialBytes bytes.
core::Result<Asn1IntegerPtr> random_serial();
/// Uppercase hex without leading zeros ("0" for zero).
std::string integer_hex(const ASN1_INTEGER* value);

/// Seconds since the epoch of an ASN1_TIME (UTC).
std::time_t to_time_t(const ASN1_TIME* time);

/// Adds an extension given in openssl.cnf syntax ("critical,CA:TRUE") with `ctx`.
core::Result<void> add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value);

/// Parses a DER SPKI into a key; kMalformedEncoding when it is not one.
core::Result<core::EvpPkeyPtr> parse_spki(core::ByteView spki);
/// DER SubjectPublicKeyInfo of a key.
core::Result<core::Bytes> spki_of(EVP_PKEY* key);
/// "P-256", "Ed25519", "RSA-2048", "EC secp384r1"...: for messages.
std::string describe_key(EVP_PKEY* key);
/// True for an EC key on prime256v1.
bool is_p256(EVP_PKEY* key);

/// DER of an OpenSSL object through its i2d function.
template <typename T, typename I2d>
core::Bytes to_der(T* object, I2d i2d) {
  int size = i2d(object, nullptr);
  if (size <= 0) return {};
  core::Bytes out(static_cast<std::size_t>(size));
  unsigned char* p = out.data();
  i2d(object, &p);
  return out;
}

/// PEM text written by a PEM_write_bio_* function.
template <typename T, typename Write>
std::string to_pem(T* object, Write write) {
  core::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get(), object) != 1) return {};
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

/// True if the bytes look like PEM (start with "-----BEGIN", leading whitespace allowed).
bool looks_like_pem(core::ByteView data);

}  // namespace medledger::ca::detail

namespace medledger::ca::detail {

/// A v3 certificate with a fresh random serial, the names, validity and key set;
/// extensions and signature still to add.
core::Result<core::X509Ptr> new_certificate(const X509_NAME* subject, const X509_NAME* issuer,
                                            EVP_PKEY* subject_key, std::time_t not_before,
                                            std::time_t not_after);

}  // namespace medledger::ca::detail
