#include "medledger/hsm/public_key.h"

#include <openssl/pem.h>

#include <algorithm>
#include <array>

#include "medledger/core/openssl.h"
#include "medledger/core/sha256.h"
#include "medledger/hsm/limits.h"

namespace medledger::hsm {

namespace {
using core::ErrorCode;

constexpr std::uint8_t kDerOctetString = 0x04;
constexpr std::size_t kP256PointSize = 65;  // 0x04 || X || Y
constexpr std::size_t kEd25519PointSize = 32;
constexpr std::size_t kP256CoordinateSize = 32;

// OBJECT IDENTIFIER prime256v1 (1.2.840.10045.3.1.7) and id-Ed25519 (1.3.101.112).
constexpr std::array<std::uint8_t, 10> kP256Params = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                                      0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr std::array<std::uint8_t, 5> kEd25519Params = {0x06, 0x03, 0x2b, 0x65, 0x70};

// SubjectPublicKeyInfo prefixes up to the BIT STRING contents (RFC 5480, RFC 8410).
constexpr std::array<std::uint8_t, 26> kP256SpkiPrefix = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,  // ecPublicKey
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,                    // prime256v1
    0x03, 0x42, 0x00};
constexpr std::array<std::uint8_t, 12> kEd25519SpkiPrefix = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                             0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

bool is_raw_point(core::KeyAlgorithm algorithm, core::ByteView p) {
  if (algorithm == core::KeyAlgorithm::kEcdsaP256)
    return p.size() == kP256PointSize && p[0] == 0x04;
  return p.size() == kEd25519PointSize;
}
}  // namespace

core::ByteView p256_ec_params() { return kP256Params; }
core::ByteView ed25519_ec_params() { return kEd25519Params; }

core::Result<core::Bytes> ec_point_raw(core::KeyAlgorithm algorithm, core::ByteView ec_point) {
  // Check the wrapped form first: a 65-byte bare P-256 point starts with 0x04 too,
  // but its second byte (X's first) cannot make a consistent OCTET STRING of length 63.
  std::size_t expected =
      algorithm == core::KeyAlgorithm::kEcdsaP256 ? kP256PointSize : kEd25519PointSize;
  if (ec_point.size() == expected + 2 && ec_point[0] == kDerOctetString &&
      ec_point[1] == expected) {
    core::ByteView inner = ec_point.subspan(2);
    if (is_raw_point(algorithm, inner)) return core::Bytes(inner.begin(), inner.end());
  }
  if (is_raw_point(algorithm, ec_point)) return core::Bytes(ec_point.begin(), ec_point.end());
  return core::make_error(ErrorCode::kMalformedEncoding,
                          "CKA_EC_POINT is neither a bare nor an OCTET STRING-wrapped " +
                              std::string(core::key_algorithm_name(algorithm)) + " point");
}

core::Result<core::Bytes> spki_from_ec_point(core::KeyAlgorithm algorithm,
                                             core::ByteView ec_point) {
  MEDLEDGER_TRY_ASSIGN(auto raw, ec_point_raw(algorithm, ec_point));
  core::Bytes spki;
  if (algorithm == core::KeyAlgorithm::kEcdsaP256)
    spki.assign(kP256SpkiPrefix.begin(), kP256SpkiPrefix.end());
  else
    spki.assign(kEd25519SpkiPrefix.begin(), kEd25519SpkiPrefix.end());
  spki.insert(spki.end(), raw.begin(), raw.end());
  // Pair the hand-built DER with OpenSSL's parser: a point off the curve fails here.
  if (!core::parse_public_key_spki(spki.data(), spki.size())) {
    return core::openssl_error(ErrorCode::kMalformedEncoding,
                               "CKA_EC_POINT is not a valid public key");
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

namespace {
constexpr std::uint8_t kDerInteger = 0x02;
constexpr std::uint8_t kDerSequence = 0x30;

// Appends one unsigned big-endian number as a DER INTEGER: leading zero bytes
// dropped (one kept for zero), and a 0x00 put back when the top bit is set so the
// value stays positive (X.690 8.3). Lengths stay below 128: short form only.
void put_der_unsigned(std::uint8_t*& out, core::ByteView value) {
  std::size_t skip = 0;
  while (skip + 1 < value.size() && value[skip] == 0) ++skip;
  value = value.subspan(skip);
  const bool pad = (value[0] & 0x80) != 0;
  *out++ = kDerInteger;
  *out++ = static_cast<std::uint8_t>(value.size() + (pad ? 1 : 0));
  if (pad) *out++ = 0x00;
  out = std::copy(value.begin(), value.end(), out);
}
}  // namespace

core::Result<core::Bytes> ecdsa_raw_to_der(core::ByteView raw) {
  if (raw.size() != 2 * kP256CoordinateSize) {
    return core::make_error(
        ErrorCode::kMalformedEncoding,
        "ECDSA signature from the token has " + std::to_string(raw.size()) + " bytes, not 64");
  }
  // Hand-written rather than ECDSA_SIG + two BIGNUMs: it is on every signature's
  // path and needs no allocation but the result (tests compare it with OpenSSL).
  constexpr std::size_t kMaxInteger = 2 + 1 + kP256CoordinateSize;  // tag, length, 0x00 pad, value
  std::array<std::uint8_t, 2 + 2 * kMaxInteger> buffer;
  std::uint8_t* out = buffer.data() + 2;
  put_der_unsigned(out, raw.first(kP256CoordinateSize));
  put_der_unsigned(out, raw.subspan(kP256CoordinateSize));
  const auto content = static_cast<std::size_t>(out - buffer.data()) - 2;
  buffer[0] = kDerSequence;
  buffer[1] = static_cast<std::uint8_t>(content);
  return core::Bytes(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(2 + content));
}

}  // namespace medledger::hsm
