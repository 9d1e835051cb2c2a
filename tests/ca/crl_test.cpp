// CRLs: v2, numbered, with reasons, signed through the Signer.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "ca_test_support.h"

namespace medledger::ca {
namespace {

using core::ErrorCode;
using testing::kDay;
using testing::kNow;

TEST(Crl, CrlIsV2NumberedWithAkiReasonsAndValidSignature) {
  auto ca = testing::make_ca();
  auto leaf = ca.ca->issue_for_key(testing::make_spki(testing::TestKey::kP256),
                                   testing::request(Role::kDoctor, "dr-1"), kNow);
  ASSERT_TRUE(leaf.ok());
  auto crl = ca.ca->make_crl({{leaf->serial_hex(), kNow - 10, RevocationReason::kKeyCompromise}}, 7,
                             kNow, 7);
  ASSERT_TRUE(crl.ok()) << crl.error().to_string();
  EXPECT_EQ(X509_CRL_get_version(crl->get()), X509_CRL_VERSION_2);
  EXPECT_EQ(crl->number(), 7u);
  EXPECT_EQ(crl->issuer(), ca.ca->certificate().subject());
  EXPECT_EQ(crl->this_update(), kNow);
  EXPECT_EQ(crl->next_update(), kNow + 7 * kDay);
  EXPECT_EQ(crl->revoked_serials(), std::vector<std::string>{leaf->serial_hex()});
  EXPECT_EQ(X509_CRL_get_signature_nid(crl->get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_CRL_verify(crl->get(), X509_get0_pubkey(ca.ca->certificate().get())), 1);

  X509_REVOKED* entry = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl->get()), 0);
  auto* reason = static_cast<ASN1_ENUMERATED*>(
      X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr));
  ASSERT_NE(reason, nullptr);
  EXPECT_EQ(ASN1_ENUMERATED_get(reason), 1);
  ASN1_ENUMERATED_free(reason);
  auto* aki = static_cast<AUTHORITY_KEYID*>(
      X509_CRL_get_ext_d2i(crl->get(), NID_authority_key_identifier, nullptr, nullptr));
  EXPECT_NE(aki, nullptr);
  AUTHORITY_KEYID_free(aki);
}

TEST(Crl, UnspecifiedReasonIsOmittedAsRfc5280Asks) {
  auto ca = testing::make_ca();
  auto crl = ca.ca->make_crl({{"0A1B", kNow, RevocationReason::kUnspecified}}, 1, kNow, 1);
  ASSERT_TRUE(crl.ok());
  X509_REVOKED* entry = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl->get()), 0);
  EXPECT_EQ(X509_REVOKED_get_ext_count(entry), 0);
}

TEST(Crl, EmptyCrlIsValid) {
  auto ca = testing::make_ca();
  auto crl = ca.ca->make_crl({}, 1, kNow, 7);
  ASSERT_TRUE(crl.ok());
  EXPECT_TRUE(crl->revoked_serials().empty());
}

TEST(Crl, BadParametersAreInvalidArgument) {
  auto ca = testing::make_ca();
  for (auto [number, days] : {std::pair<std::uint64_t, int>{0, 7}, {1, 0}, {1, 367}}) {
    auto crl = ca.ca->make_crl({}, number, kNow, days);
    ASSERT_FALSE(crl.ok());
    EXPECT_EQ(crl.error().code, ErrorCode::kInvalidArgument);
  }
  auto bad_serial = ca.ca->make_crl({{"not-hex", kNow, RevocationReason::kSuperseded}}, 1, kNow, 7);
  ASSERT_FALSE(bad_serial.ok());
  EXPECT_EQ(bad_serial.error().code, ErrorCode::kInvalidArgument);
}

TEST(Crl, ParseRoundTripsAndRejectsGarbage) {
  auto ca = testing::make_ca();
  auto crl = ca.ca->make_crl({}, 3, kNow, 7);
  ASSERT_TRUE(crl.ok());
  auto from_pem = Crl::parse(core::to_bytes(crl->to_pem()));
  ASSERT_TRUE(from_pem.ok());
  EXPECT_EQ(from_pem->to_der(), crl->to_der());
  auto garbage =
      Crl::parse(core::to_bytes("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::kCrlInvalid);
}

TEST(RevocationReasons, NamesRoundTripCaseInsensitively) {
  auto reason = parse_revocation_reason("KEYCOMPROMISE");
  ASSERT_TRUE(reason.ok());
  EXPECT_EQ(*reason, RevocationReason::kKeyCompromise);
  EXPECT_EQ(revocation_reason_name(RevocationReason::kCessationOfOperation),
            "cessationOfOperation");
  auto bad = parse_revocation_reason("bored");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace medledger::ca
