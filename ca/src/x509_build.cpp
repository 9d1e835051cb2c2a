#include "x509_build.h"

#include <openssl/rand.h>

#include "medledger/ca/limits.h"
#include "medledger/core/assert.h"

namespace medledger::ca::detail {

using core::ErrorCode;

core::Result<X509NamePtr> make_name(
    std::initializer_list<std::pair<const char*, std::string>> rdns) {
  X509NamePtr name(X509_NAME_new());
  if (!name) return core::openssl_error(ErrorCode::kCryptoError, "allocate name");
  for (const auto& [field, value] : rdns) {
    if (X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      return core::openssl_error(ErrorCode::kInvalidArgument,
                                 std::string("name attribute ") + field);
    }
  }
  return name;
}

std::string name_to_string(const X509_NAME* name) {
  core::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  // RFC 2253 without the multi-byte escaping, so UTF-8 values print as they are.
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::optional<std::string> name_attribute(const X509_NAME* name, std::string_view short_name) {
  int nid = OBJ_sn2nid(std::string(short_name).c_str());
  if (nid == NID_undef) return std::nullopt;
  int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return std::nullopt;
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int size = ASN1_STRING_to_UTF8(&utf8, data);
  if (size < 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(size));
  OPENSSL_free(utf8);
  return out;
}

core::Result<Asn1IntegerPtr> random_serial() {
  unsigned char bytes[kSerialBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    return core::openssl_error(ErrorCode::kCryptoError, "serial RAND_bytes");
  bytes[0] &= 0x7f;  // positive INTEGER
  bytes[0] |= 0x40;  // and full length, so it always has 127 bits and no leading-zero trimming
  core::BignumPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  Asn1IntegerPtr serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!serial) return core::openssl_error(ErrorCode::kCryptoError, "serial encoding");
  // Positive, exactly 8 * kSerialBytes - 1 bits (126 of them random), kSerialBytes content
  // bytes: what limits.h promises and what the serial checks elsewhere rely on.
  MEDLEDGER_ASSERT(!BN_is_negative(bn.get()));
  MEDLEDGER_ASSERT(BN_num_bits(bn.get()) == static_cast<int>(8 * kSerialBytes - 1));
  MEDLEDGER_ASSERT(ASN1_STRING_length(serial.get()) == static_cast<int>(kSerialBytes));
  return serial;
}

std::string integer_hex(const ASN1_INTEGER* value) {
  core::BignumPtr bn(ASN1_INTEGER_to_BN(value, nullptr));
  if (!bn) return {};
  char* hex = BN_bn2hex(bn.get());
  if (!hex) return {};
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

std::time_t to_time_t(const ASN1_TIME* time) {
  struct tm parts {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return 0;
  return timegm(&parts);
}

core::Result<void> add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return core::openssl_error(ErrorCode::kCryptoError,
                               std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  }
  return core::success();
}

core::Result<core::EvpPkeyPtr> parse_spki(core::ByteView spki) {
  core::EvpPkeyPtr key = core::parse_public_key_spki(spki.data(), spki.size());
  if (!key)
    return core::openssl_error(ErrorCode::kMalformedEncoding,
                               "public key is not a DER SubjectPublicKeyInfo");
  return key;
}

core::Result<core::Bytes> spki_of(EVP_PKEY* key) {
  core::Bytes der = to_der(key, i2d_PUBKEY);
  if (der.empty()) return core::openssl_error(ErrorCode::kCryptoError, "encode public key");
  return der;
}

bool is_p256(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[64] = {};
  size_t length = 0;
  return EVP_PKEY_get_group_name(key, group, sizeof group, &length) == 1 &&
         std::string_view(group) == "prime256v1";
}

std::string describe_key(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_ED25519:
      return "Ed25519";
    case EVP_PKEY_ED448:
      return "Ed448";
    case EVP_PKEY_RSA:
      return "RSA-" + std::to_string(EVP_PKEY_get_bits(key));
    case EVP_PKEY_EC: {
      if (is_p256(key)) return "P-256";
      char group[64] = {};
      size_t length = 0;
      EVP_PKEY_get_group_name(key, group, sizeof group, &length);
      return std::string("EC ") + group;
    }
    default:
      return std::string("key type ") + OBJ_nid2sn(EVP_PKEY_get_base_id(key));
  }
}

bool looks_like_pem(core::ByteView data) {
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  std::size_t start = text.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && text.substr(start).starts_with("-----BEGIN");
}

}  // namespace medledger::ca::detail

namespace medledger::ca::detail {

core::Result<core::X509Ptr> new_certificate(const X509_NAME* subject, const X509_NAME* issuer,
                                            EVP_PKEY* subject_key, std::time_t not_before,
                                            std::time_t not_after) {
  core::X509Ptr cert(X509_new());
  if (!cert) return core::openssl_error(core::ErrorCode::kCryptoError, "allocate certificate");
  MEDLEDGER_TRY_ASSIGN(auto serial, random_serial());
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(cert.get(), serial.get()) != 1 ||
      X509_set_subject_name(cert.get(), subject) != 1 ||
      X509_set_issuer_name(cert.get(), issuer) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after) == nullptr ||
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    return core::openssl_error(core::ErrorCode::kCryptoError, "fill certificate fields");
  }
  return cert;
}

}  // namespace medledger::ca::detail
