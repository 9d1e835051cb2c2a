#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <algorithm>
#include <random>
#include <vector>

#include "medledger/core/software_signer.h"
#include "medledger/hsm/pkcs11_error.h"
#include "medledger/hsm/public_key.h"

namespace medledger::hsm {
namespace {

using core::ErrorCode;
using core::KeyAlgorithm;

// The BIT STRING contents of a software key's SPKI: the raw point.
core::Bytes raw_point_of(const core::Bytes& spki, std::size_t point_size) {
  return core::Bytes(spki.end() - static_cast<std::ptrdiff_t>(point_size), spki.end());
}

core::Bytes octet_string(const core::Bytes& raw) {
  core::Bytes wrapped{0x04, static_cast<std::uint8_t>(raw.size())};
  wrapped.insert(wrapped.end(), raw.begin(), raw.end());
  return wrapped;
}

class EcPoint : public ::testing::TestWithParam<std::pair<KeyAlgorithm, std::size_t>> {};

TEST_P(EcPoint, BareAndOctetStringWrappedPointsGiveTheSameSpki) {
  auto [algorithm, point_size] = GetParam();
  auto software = core::SoftwareSigner::generate(algorithm);
  ASSERT_TRUE(software);
  const core::Bytes& expected = (*software)->public_key_spki();
  core::Bytes raw = raw_point_of(expected, point_size);

  auto from_bare = spki_from_ec_point(algorithm, raw);
  auto from_wrapped = spki_from_ec_point(algorithm, octet_string(raw));
  ASSERT_TRUE(from_bare) << from_bare.error().to_string();
  ASSERT_TRUE(from_wrapped) << from_wrapped.error().to_string();
  EXPECT_EQ(*from_bare, expected);
  EXPECT_EQ(*from_wrapped, expected);
}

INSTANTIATE_TEST_SUITE_P(
    Algorithms, EcPoint,
    ::testing::Values(std::make_pair(KeyAlgorithm::kEcdsaP256, std::size_t{65}),
                      std::make_pair(KeyAlgorithm::kEd25519, std::size_t{32})));

TEST(EcPointRejects, WrongLengthsTagsAndOffCurvePoints) {
  core::Bytes p256(65, 0x11);
  p256[0] = 0x04;
  EXPECT_EQ(ec_point_raw(KeyAlgorithm::kEcdsaP256, core::Bytes(64, 0x04)).error().code,
            ErrorCode::kMalformedEncoding);
  EXPECT_EQ(ec_point_raw(KeyAlgorithm::kEcdsaP256, core::Bytes(67, 0x04)).error().code,
            ErrorCode::kMalformedEncoding);
  core::Bytes compressed(33, 0x02);
  EXPECT_FALSE(ec_point_raw(KeyAlgorithm::kEcdsaP256, compressed));
  auto wrong_tag = octet_string(core::Bytes(32, 0x09));
  wrong_tag[0] = 0x03;
  EXPECT_FALSE(ec_point_raw(KeyAlgorithm::kEd25519, wrong_tag));
  // Right shape, but not a point on P-256.
  auto off_curve = spki_from_ec_point(KeyAlgorithm::kEcdsaP256, p256);
  ASSERT_FALSE(off_curve);
  EXPECT_EQ(off_curve.error().code, ErrorCode::kMalformedEncoding);
}

TEST(EcdsaRawToDer, ProducesASequenceOfTwoIntegersAndRejectsWrongLength) {
  core::Bytes raw(64, 0x00);
  raw[0] = 0x80;   // r needs a leading zero in DER
  raw[63] = 0x01;  // s = 1
  auto der = ecdsa_raw_to_der(raw);
  ASSERT_TRUE(der);
  EXPECT_EQ((*der)[0], 0x30);
  EXPECT_EQ((*der)[2], 0x02);
  EXPECT_EQ((*der)[3], 33);  // r: 0x00 + 32 bytes
  EXPECT_EQ(der->back(), 0x01);
  EXPECT_EQ(ecdsa_raw_to_der(core::Bytes(63, 1)).error().code, ErrorCode::kMalformedEncoding);
}

// The reference: OpenSSL's own encoding of the same (r, s).
core::Bytes openssl_der(const core::Bytes& raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), 32, nullptr), BN_bin2bn(raw.data() + 32, 32, nullptr));
  core::Bytes der(static_cast<std::size_t>(i2d_ECDSA_SIG(sig, nullptr)));
  unsigned char* out = der.data();
  i2d_ECDSA_SIG(sig, &out);
  ECDSA_SIG_free(sig);
  return der;
}

TEST(EcdsaRawToDer, MatchesOpenSslForHighBitsLeadingZerosAndExtremes) {
  std::vector<core::Bytes> cases;
  auto with = [&](std::uint8_t r_fill, std::uint8_t s_fill, std::size_t r_zeros,
                  std::size_t s_zeros) {
    core::Bytes raw(64);
    std::fill(raw.begin(), raw.begin() + 32, r_fill);
    std::fill(raw.begin() + 32, raw.end(), s_fill);
    std::fill(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(r_zeros), 0);
    std::fill(raw.begin() + 32, raw.begin() + 32 + static_cast<std::ptrdiff_t>(s_zeros), 0);
    cases.push_back(raw);
  };
  with(0xff, 0xff, 0, 0);    // both high bits set: both padded, longest encoding (72 bytes)
  with(0x7f, 0x80, 0, 0);    // high bit clear / set
  with(0x80, 0x7f, 1, 0);    // leading zero, then a high bit: stripped then padded
  with(0x01, 0x01, 5, 31);   // several leading zeros; s is one byte
  with(0x00, 0x00, 32, 32);  // zero encodes as 02 01 00
  with(0x90, 0x00, 31, 32);  // r one byte with its high bit set
  std::mt19937 random(7);
  for (int i = 0; i < 200; ++i) {
    core::Bytes raw(64);
    for (auto& b : raw) b = static_cast<std::uint8_t>(random());
    raw[0] = static_cast<std::uint8_t>(i % 3 == 0 ? 0 : raw[0]);
    cases.push_back(raw);
  }
  for (const auto& raw : cases) {
    auto der = ecdsa_raw_to_der(raw);
    ASSERT_TRUE(der);
    EXPECT_EQ(core::hex_encode(*der), core::hex_encode(openssl_der(raw))) << core::hex_encode(raw);
  }
}

TEST(KeyId, IsFirst20BytesOfSha256OfSpki) {
  core::Bytes spki = core::to_bytes("any bytes");
  auto digest = core::sha256(spki);
  EXPECT_EQ(key_id_for(spki), core::Bytes(digest.begin(), digest.begin() + 20));
}

TEST(CkrNames, StandardCodesHaveTheirNamesAndStableErrorCodes) {
  EXPECT_EQ(ckr_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
  EXPECT_EQ(ckr_name(CKR_SESSION_HANDLE_INVALID), "CKR_SESSION_HANDLE_INVALID");
  EXPECT_EQ(ckr_name(CKR_FUNCTION_REJECTED), "CKR_FUNCTION_REJECTED");
  EXPECT_EQ(ckr_name(CKR_VENDOR_DEFINED + 7), "CKR_VENDOR_DEFINED");
  EXPECT_EQ(ckr_name(0x7777), "CKR_UNKNOWN");
  EXPECT_EQ(error_code_for(CKR_PIN_INCORRECT), ErrorCode::kPinIncorrect);
  EXPECT_EQ(error_code_for(CKR_PIN_LOCKED), ErrorCode::kPinLocked);
  EXPECT_EQ(error_code_for(CKR_PIN_LEN_RANGE), ErrorCode::kPinInvalid);
  EXPECT_EQ(error_code_for(CKR_MECHANISM_INVALID), ErrorCode::kMechanismMissing);
  EXPECT_EQ(error_code_for(CKR_DEVICE_REMOVED), ErrorCode::kTokenUnavailable);
  EXPECT_EQ(error_code_for(CKR_ARGUMENTS_BAD), ErrorCode::kTokenError);
  auto error = token_error("C_Login", CKR_PIN_INCORRECT, "the user PIN was rejected");
  EXPECT_EQ(error.message, "the user PIN was rejected (C_Login: CKR_PIN_INCORRECT)");
  EXPECT_EQ(token_error("C_Sign", CKR_DEVICE_ERROR).message, "C_Sign: CKR_DEVICE_ERROR");
}

TEST(FaultClasses, SessionFaultsDropTheSessionDeviceFaultsReinitialise) {
  EXPECT_EQ(classify_fault(CKR_SESSION_HANDLE_INVALID), FaultClass::kSession);
  EXPECT_EQ(classify_fault(CKR_SESSION_CLOSED), FaultClass::kSession);
  for (CK_RV rv : {CKR_DEVICE_ERROR, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
                   CKR_USER_NOT_LOGGED_IN, CKR_CRYPTOKI_NOT_INITIALIZED}) {
    EXPECT_EQ(classify_fault(rv), FaultClass::kDevice) << ckr_name(rv);
  }
  EXPECT_EQ(classify_fault(CKR_PIN_INCORRECT), FaultClass::kNone);
  EXPECT_EQ(classify_fault(CKR_KEY_HANDLE_INVALID), FaultClass::kStaleHandle);
  EXPECT_EQ(classify_fault(CKR_OBJECT_HANDLE_INVALID), FaultClass::kStaleHandle);
}

}  // namespace
}  // namespace medledger::hsm
