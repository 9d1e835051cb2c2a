#include "medledger/hsm/public_key.h"

#include <openssl/ecdsa.h>
#include <openssl/pem.h>

#include <array>

#include "medledger/core/openssl.h"
#include "medledger/core/sha256.h"
#include "medledger/hsm/limits.h"

namespace medledger::hsm {

namespace {
using core::ErrorCode;

constexpr std::uint8_t kDerOctetString = 0x04;
constexpr std::size_t kP256PointSize = 65;     // 0x04 || X || Y
constexpr std::size_t kEd25519PointSize = 32;
constexpr std::size_t kP256CoordinateSize = 32;

// OBJECT IDENTIFIER prime256v1 (1.2.840.10045.3.1.7) and id-Ed25519 (1.3.101.112).
constexpr std::array<std::uint8_t, 10> kP256Params = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr std::array<std::uint8_t, 5> kEd25519Params = {0x06, 0x03, 0x2b, 0x65, 0x70};

// SubjectPublicKeyInfo prefixes up to the BIT STRING contents (RFC 5480, RFC 8410).
constexpr std::array<std::uint8_t, 26> kP256SpkiPrefix = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,  // ecPublicKey
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,                    // prime256v1
    0x03, 0x42, 0x00};
constexpr std::array<std::uint8_t, 12> kEd25519SpkiPrefix = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                              0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

bool is_raw_point(core::KeyAlgorithm algorithm, core::ByteView p) {
  if (algorithm == core::KeyAlgorithm::kEcdsaP256) return p.size() == kP256PointSize && p[0] == 0x04;
  return p.size() == kEd25519PointSize;
}
}  // namespace

core::ByteView p256_ec_params() { return kP256Params; }
core::ByteView ed25519_ec_params() { return kEd25519Params; }

core::Result<core::Bytes> ec_point_raw(core::KeyAlgorithm algorithm, core::ByteView ec_point) {
  // Check the wrapped form first: a 65-byte bare P-256 point starts with 0x04 too,
  // but its second byte (X's first) cannot make a consistent OCTET STRING of length 63.
  std::size_t expected = algorithm == core::KeyAlgorithm::kEcdsaP256 ? kP256PointSize : kEd25519PointSize;
  if (ec_point.size() == expected + 2 && ec_point[0] == kDerOctetString && ec_point[1] == expected) {
    core::ByteView inner = ec_point.subspan(2);
    if (is_raw_point(algorithm, inner)) return core::Bytes(inner.begin(), inner.end());
  }
  if (is_raw_point(algorithm, ec_point)) return core::Bytes(ec_point.begin(), ec_point.end());
  return core::make_error(ErrorCode::kMalformedEncoding,
                          "CKA_EC_POINT is neither a bare nor an OCTET STRING-wrapped " +
                              std::string(core::key_algorithm_name(algorithm)) + " point");
}

core::Result<core::Bytes> spki_from_ec_point(core::KeyAlgorithm algorithm, core::ByteView ec_point) {
  auto raw = ec_point_raw(algorithm, ec_point);
  if (!raw) return raw.error();
  core::Bytes spki;
  if (algorithm == core::KeyAlgorithm::kEcdsaP256) spki.assign(kP256SpkiPrefix.begin(), kP256SpkiPrefix.end());
  else spki.assign(kEd25519SpkiPrefix.begin(), kEd25519SpkiPrefix.end());
  spki.insert(spki.end(), raw->begin(), raw->end());
  // Pair the hand-built DER with OpenSSL's parser: a point off the curve fails here.
  if (!core::parse_public_key_spki(spki.data(), spki.size())) {
    return core::openssl_error(ErrorCode::kMalformedEncoding, "CKA_EC_POINT is not a valid public key");
  }
  return spki;
}

std::string spki_to_pem(core::ByteView spki) {
  core::EvpPkeyPtr key = core::parse_public_key_spki(spki.data(), spki.size());
  if (!key) return {};
  core::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) return {};
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

core::Bytes key_id_for(core::ByteView spki) {
  core::Digest digest = core::sha256(spki);
  return core::Bytes(digest.begin(), digest.begin() + kKeyIdSize);
}

core::Result<core::Bytes> ecdsa_raw_to_der(core::ByteView raw) {
  if (raw.size() != 2 * kP256CoordinateSize) {
    return core::make_error(ErrorCode::kMalformedEncoding,
                            "ECDSA signature from the token has " + std::to_string(raw.size()) + " bytes, not 64");
  }
  core::EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), kP256CoordinateSize, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + kP256CoordinateSize, kP256CoordinateSize, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return core::openssl_error(ErrorCode::kCryptoError, "building an ECDSA signature");
  }
  int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) return core::openssl_error(ErrorCode::kCryptoError, "encoding an ECDSA signature");
  core::Bytes der(static_cast<std::size_t>(size));
  unsigned char* out = der.data();
  i2d_ECDSA_SIG(sig.get(), &out);
  return der;
}

}  // namespace medledger::hsm
