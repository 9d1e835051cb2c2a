// validate_chain: every failure maps to its stable code.
#include <gtest/gtest.h>

#include "ca_test_support.h"
#include "medledger/ca/validation.h"

namespace medledger::ca {
namespace {

using core::ErrorCode;
using testing::kDay;
using testing::kNow;

class Validation : public ::testing::Test {
 protected:
  testing::SoftwareCa ca_ = testing::make_ca("hospital-a");
  Certificate doctor_ = *ca_.ca->issue_for_key(testing::make_spki(testing::TestKey::kP256),
                                               testing::request(Role::kDoctor, "dr-1", 30), kNow);
  TrustAnchors anchors_{{ca_.ca->certificate()}, {}};

  void expect_code(const core::Result<ValidatedCertificate>& result, ErrorCode code) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, code) << result.error().to_string();
  }
};

TEST_F(Validation, ValidCertificateYieldsRoleIdAndPath) {
  auto result = validate_chain(doctor_, anchors_, {}, kNow + kDay, Role::kDoctor);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->role, Role::kDoctor);
  EXPECT_EQ(result->subject_id, "dr-1");
  EXPECT_EQ(result->hospital_id, "hospital-a");
  ASSERT_EQ(result->path.size(), 2u);
  EXPECT_EQ(result->path[1].subject(), ca_.ca->certificate().subject());
}

TEST_F(Validation, AnyRoleWhenNoneIsExpected) {
  EXPECT_TRUE(validate_chain(doctor_, anchors_, {}, kNow, std::nullopt).ok());
}

TEST_F(Validation, WrongRoleIsRefused) {
  expect_code(validate_chain(doctor_, anchors_, {}, kNow, Role::kAdmin),
              ErrorCode::kCertificateWrongRole);
}

// OpenSSL counts notAfter itself as expired (X509_cmp_time): the last valid second is notAfter - 1.
TEST_F(Validation, ExpiryBoundaryIsExact) {
  EXPECT_TRUE(validate_chain(doctor_, anchors_, {}, doctor_.not_after() - 1, Role::kDoctor).ok());
  expect_code(validate_chain(doctor_, anchors_, {}, doctor_.not_after(), Role::kDoctor),
              ErrorCode::kCertificateExpired);
}

TEST_F(Validation, NotYetValidIsRefused) {
  expect_code(validate_chain(doctor_, anchors_, {}, doctor_.not_before() - 1, Role::kDoctor),
              ErrorCode::kCertificateNotYetValid);
}

TEST_F(Validation, CertificateFromAnotherCaIsUntrusted) {
  auto other = testing::make_ca("hospital-a");  // same names, different key
  auto stranger = other.ca->issue_for_key(testing::make_spki(testing::TestKey::kP256),
                                          testing::request(Role::kDoctor, "dr-1"), kNow);
  ASSERT_TRUE(stranger.ok());
  expect_code(validate_chain(*stranger, anchors_, {}, kNow, Role::kDoctor),
              ErrorCode::kCertificateUntrusted);
  auto foreign = testing::make_ca("hospital-b");
  auto from_b = foreign.ca->issue_for_key(testing::make_spki(testing::TestKey::kP256),
                                          testing::request(Role::kDoctor, "dr-1"), kNow);
  expect_code(validate_chain(*from_b, anchors_, {}, kNow, Role::kDoctor),
              ErrorCode::kCertificateUntrusted);
  expect_code(validate_chain(doctor_, TrustAnchors{}, {}, kNow, Role::kDoctor),
              ErrorCode::kCertificateUntrusted);
}

TEST_F(Validation, RevokedCertificateIsRefusedWhenCrlGiven) {
  auto crl = ca_.ca->make_crl({{doctor_.serial_hex(), kNow, RevocationReason::kKeyCompromise}}, 1,
                              kNow, 7);
  ASSERT_TRUE(crl.ok());
  expect_code(validate_chain(doctor_, anchors_, {*crl}, kNow + 60, Role::kDoctor),
              ErrorCode::kCertificateRevoked);
  auto clean = ca_.ca->make_crl({}, 2, kNow, 7);
  EXPECT_TRUE(validate_chain(doctor_, anchors_, {*clean}, kNow + 60, Role::kDoctor).ok());
}

TEST_F(Validation, ExpiredOrForeignCrlIsCrlInvalid) {
  auto crl = ca_.ca->make_crl({}, 1, kNow, 1);
  ASSERT_TRUE(crl.ok());
  expect_code(validate_chain(doctor_, anchors_, {*crl}, kNow + 2 * kDay, Role::kDoctor),
              ErrorCode::kCrlInvalid);
  auto other = testing::make_ca("hospital-b");
  auto foreign = other.ca->make_crl({}, 1, kNow, 7);
  expect_code(validate_chain(doctor_, anchors_, {*foreign}, kNow, Role::kDoctor),
              ErrorCode::kCrlInvalid);
}

TEST_F(Validation, ChainThroughIntermediateValidatesAndNeedsTheIntermediate) {
  auto [root, intermediate] = testing::make_root_and_intermediate("hospital-c");
  auto nurse = intermediate.ca->issue_for_key(testing::make_spki(testing::TestKey::kP256),
                                              testing::request(Role::kNode, "node-1"), kNow);
  ASSERT_TRUE(nurse.ok());
  TrustAnchors anchors{{root.ca->certificate()}, {intermediate.ca->certificate()}};
  auto result = validate_chain(*nurse, anchors, {}, kNow, Role::kNode);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->path.size(), 3u);
  expect_code(
      validate_chain(*nurse, TrustAnchors{{root.ca->certificate()}, {}}, {}, kNow, Role::kNode),
      ErrorCode::kCertificateUntrusted);
}

TEST_F(Validation, ExpiredCaMakesTheChainExpired) {
  auto short_ca = testing::make_ca("hospital-a", kNow, 10);
  auto leaf = short_ca.ca->issue_for_key(testing::make_spki(testing::TestKey::kP256),
                                         testing::request(Role::kPatient, "p-1"), kNow);
  ASSERT_TRUE(leaf.ok());
  // The leaf's notAfter was clamped to the CA's: one second later both have expired.
  expect_code(validate_chain(*leaf, TrustAnchors{{short_ca.ca->certificate()}, {}}, {},
                             short_ca.ca->certificate().not_after() + 1, Role::kPatient),
              ErrorCode::kCertificateExpired);
}

TEST_F(Validation, TrustAnchorItselfIsNotARoleCertificate) {
  expect_code(validate_chain(ca_.ca->certificate(), anchors_, {}, kNow, std::nullopt),
              ErrorCode::kCertificateInvalid);
}

}  // namespace
}  // namespace medledger::ca
