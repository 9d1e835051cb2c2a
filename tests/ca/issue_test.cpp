// Issuing role certificates from CSRs and public keys, and the profile rules.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <set>

#include "ca_test_support.h"
#include "medledger/ca/limits.h"

namespace medledger::ca {
namespace {

using core::ErrorCode;
using testing::kDay;
using testing::kNow;
using testing::TestKey;

std::set<std::string> extended_key_usages(const Certificate& cert) {
  std::set<std::string> out;
  auto* eku = static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(cert.get(), NID_ext_key_usage, nullptr, nullptr));
  for (int i = 0; eku != nullptr && i < sk_ASN1_OBJECT_num(eku); ++i)
    out.insert(OBJ_nid2sn(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i))));
  EXTENDED_KEY_USAGE_free(eku);
  return out;
}

class Issue : public ::testing::Test {
 protected:
  testing::SoftwareCa ca_ = testing::make_ca("hospital-a");

  void expect_refused(const CertificateRequest& csr, const IssueRequest& request, ErrorCode code) {
    auto cert = ca_.ca->issue(csr, request, kNow);
    ASSERT_FALSE(cert.ok()) << cert->subject();
    EXPECT_EQ(cert.error().code, code) << cert.error().to_string();
    EXPECT_FALSE(cert.error().message.empty());
  }
};

TEST_F(Issue, DoctorCertificateHasSubjectExtensionsAndVerifiesWithTheCaKey) {
  auto csr = testing::make_csr();
  auto cert = ca_.ca->issue(csr, testing::request(Role::kDoctor, "dr-17"), kNow);
  ASSERT_TRUE(cert.ok()) << cert.error().to_string();
  EXPECT_EQ(cert->subject(), "CN=dr-17,OU=doctor,O=hospital-a");
  EXPECT_EQ(cert->issuer(), ca_.ca->certificate().subject());
  EXPECT_EQ(X509_get_version(cert->get()), X509_VERSION_3);
  EXPECT_FALSE(cert->is_ca());
  EXPECT_EQ(X509_get_key_usage(cert->get()),
            static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION));
  EXPECT_EQ(extended_key_usages(*cert), (std::set<std::string>{"clientAuth"}));
  EXPECT_NE(X509_get0_subject_key_id(cert->get()), nullptr);
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(cert->get());
  ASSERT_NE(aki, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(ca_.ca->certificate().get())), 0);
  EXPECT_EQ(X509_verify(cert->get(), X509_get0_pubkey(ca_.ca->certificate().get())), 1);
  EXPECT_EQ(cert->public_key_spki(), *csr.public_key_spki());
  EXPECT_EQ(cert->not_after() - kNow, 365 * kDay);
  EXPECT_EQ(kNow - cert->not_before(), kNotBeforeBackdateSeconds);
}

TEST_F(Issue, NodeCertificateHasServerAndClientAuthKeyAgreementAndDnsNames) {
  auto csr = testing::make_csr(testing::CsrSpec().with_extensions(
      {{NID_subject_alt_name, "DNS:node1.hospital-a.example,IP:10.0.0.7"}}));
  auto cert = ca_.ca->issue(csr, testing::request(Role::kNode, "node-1"), kNow);
  ASSERT_TRUE(cert.ok()) << cert.error().to_string();
  EXPECT_EQ(extended_key_usages(*cert), (std::set<std::string>{"serverAuth", "clientAuth"}));
  EXPECT_EQ(X509_get_key_usage(cert->get()),
            static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT));
  EXPECT_EQ(X509_check_host(cert->get(), "node1.hospital-a.example", 0, 0, nullptr), 1);
}

TEST_F(Issue, SerialsAreRandomPositiveAndAtLeast64Bits) {
  std::set<std::string> serials;
  for (int i = 0; i < 20; ++i) {
    auto cert = ca_.ca->issue_for_key(testing::make_spki(TestKey::kP256),
                                      testing::request(Role::kPatient, "p-1"), kNow);
    ASSERT_TRUE(cert.ok());
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert->get());
    EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER);  // not V_ASN1_NEG_INTEGER
    EXPECT_GE(cert->serial_hex().size() * 4, 64u);
    serials.insert(cert->serial_hex());
  }
  EXPECT_EQ(serials.size(), 20u);
}

TEST_F(Issue, PersonsMayHoldEd25519KeysButNodesMayNot) {
  auto patient = ca_.ca->issue(testing::make_csr(testing::CsrSpec().with_key(TestKey::kEd25519)),
                               testing::request(Role::kPatient, "p-9"), kNow);
  ASSERT_TRUE(patient.ok()) << patient.error().to_string();
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(patient->get())), EVP_PKEY_ED25519);
  expect_refused(testing::make_csr(testing::CsrSpec().with_key(TestKey::kEd25519)),
                 testing::request(Role::kNode, "n-1"), ErrorCode::kProfileViolation);
}

TEST_F(Issue, IssueForTokenPublicKeyNeedsNoCsr) {
  core::Bytes spki = testing::make_spki(TestKey::kP256);
  auto cert = ca_.ca->issue_for_key(spki, testing::request(Role::kAuditor, "aud-3", 30), kNow);
  ASSERT_TRUE(cert.ok()) << cert.error().to_string();
  EXPECT_EQ(cert->public_key_spki(), spki);
  EXPECT_EQ(cert->subject(), "CN=aud-3,OU=auditor,O=hospital-a");
  EXPECT_EQ(cert->not_after() - kNow, 30 * kDay);
}

TEST_F(Issue, MalformedPublicKeyIsMalformedEncoding) {
  core::Bytes junk{0x30, 0x03, 0x02, 0x01, 0x01};
  auto cert = ca_.ca->issue_for_key(junk, testing::request(Role::kDoctor, "dr-1"), kNow);
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, ErrorCode::kMalformedEncoding);
}

TEST_F(Issue, CsrWithBadSignatureIsRefused) {
  expect_refused(testing::make_csr(testing::CsrSpec().corrupted()),
                 testing::request(Role::kDoctor, "dr-1"), ErrorCode::kCsrSignatureInvalid);
}

TEST_F(Issue, CsrRequestingCaIsRefused) {
  expect_refused(testing::make_csr(testing::CsrSpec().with_extensions(
                     {{NID_basic_constraints, "critical,CA:TRUE"}})),
                 testing::request(Role::kAdmin, "adm-1"), ErrorCode::kProfileViolation);
  expect_refused(
      testing::make_csr(testing::CsrSpec().with_extensions({{NID_key_usage, "keyCertSign"}})),
      testing::request(Role::kAdmin, "adm-1"), ErrorCode::kProfileViolation);
}

TEST_F(Issue, CsrRequestingCaFalseIsAccepted) {
  auto cert = ca_.ca->issue(
      testing::make_csr(testing::CsrSpec().with_extensions({{NID_basic_constraints, "CA:FALSE"}})),
      testing::request(Role::kAdmin, "adm-1"), kNow);
  EXPECT_TRUE(cert.ok());
}

TEST_F(Issue, KeyTypesOutsideEveryProfileAreRefused) {
  expect_refused(testing::make_csr(testing::CsrSpec().with_key(TestKey::kRsa2048)),
                 testing::request(Role::kDoctor, "dr-1"), ErrorCode::kProfileViolation);
  expect_refused(testing::make_csr(testing::CsrSpec().with_key(TestKey::kP384)),
                 testing::request(Role::kDoctor, "dr-1"), ErrorCode::kProfileViolation);
}

TEST_F(Issue, ValidityLongerThanTheProfileIsRefusedAndTheMaximumIsAccepted) {
  const Profile& doctor = profile_for(Role::kDoctor);
  auto at_max = ca_.ca->issue(
      testing::make_csr(), testing::request(Role::kDoctor, "dr-1", doctor.max_validity_days), kNow);
  ASSERT_TRUE(at_max.ok());
  EXPECT_EQ(at_max->not_after() - kNow, doctor.max_validity_days * kDay);
  expect_refused(testing::make_csr(),
                 testing::request(Role::kDoctor, "dr-1", doctor.max_validity_days + 1),
                 ErrorCode::kProfileViolation);
  expect_refused(testing::make_csr(), testing::request(Role::kDoctor, "dr-1", 0),
                 ErrorCode::kInvalidArgument);
}

TEST_F(Issue, CertificateNeverOutlivesTheCa) {
  auto short_ca = testing::make_ca("hospital-a", kNow, 100);
  auto explicit_days =
      short_ca.ca->issue(testing::make_csr(), testing::request(Role::kDoctor, "dr-1", 200), kNow);
  ASSERT_FALSE(explicit_days.ok());
  EXPECT_EQ(explicit_days.error().code, ErrorCode::kProfileViolation);
  auto defaulted =
      short_ca.ca->issue(testing::make_csr(), testing::request(Role::kDoctor, "dr-1"), kNow);
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->not_after(), short_ca.ca->certificate().not_after());
}

TEST_F(Issue, ExpiredCaIssuesNothing) {
  auto cert = ca_.ca->issue(testing::make_csr(), testing::request(Role::kDoctor, "dr-1"),
                            ca_.ca->certificate().not_after() + 1);
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, ErrorCode::kCertificateExpired);
}

TEST_F(Issue, CsrSubjectThatAgreesIsAcceptedAndOneOutsideTheHospitalIsRefused) {
  auto agrees = ca_.ca->issue(testing::make_csr(testing::CsrSpec().with_subject(
                                  {{"O", "hospital-a"}, {"OU", "doctor"}, {"CN", "dr-5"}})),
                              testing::request(Role::kDoctor, "dr-5"), kNow);
  EXPECT_TRUE(agrees.ok());
  expect_refused(
      testing::make_csr(testing::CsrSpec().with_subject({{"O", "hospital-b"}, {"CN", "dr-5"}})),
      testing::request(Role::kDoctor, "dr-5"), ErrorCode::kProfileViolation);
  expect_refused(testing::make_csr(testing::CsrSpec().with_subject({{"OU", "admin"}})),
                 testing::request(Role::kDoctor, "dr-5"), ErrorCode::kProfileViolation);
  expect_refused(testing::make_csr(testing::CsrSpec().with_subject({{"CN", "someone-else"}})),
                 testing::request(Role::kDoctor, "dr-5"), ErrorCode::kProfileViolation);
  // Other attributes (here an e-mail address: PHI) are never copied nor accepted.
  expect_refused(
      testing::make_csr(testing::CsrSpec().with_subject({{"emailAddress", "jane@example.org"}})),
      testing::request(Role::kDoctor, "dr-5"), ErrorCode::kProfileViolation);
}

TEST_F(Issue, SubjectAltNamesAreRefusedForPersonsAndLimitedToDnsAndIpForNodes) {
  expect_refused(testing::make_csr(testing::CsrSpec().with_extensions(
                     {{NID_subject_alt_name, "email:jane@example.org"}})),
                 testing::request(Role::kDoctor, "dr-1"), ErrorCode::kProfileViolation);
  expect_refused(testing::make_csr(
                     testing::CsrSpec().with_extensions({{NID_subject_alt_name, "DNS:x.example"}})),
                 testing::request(Role::kPatient, "p-1"), ErrorCode::kProfileViolation);
  expect_refused(testing::make_csr(testing::CsrSpec().with_extensions(
                     {{NID_subject_alt_name, "URI:https://evil.example"}})),
                 testing::request(Role::kNode, "n-1"), ErrorCode::kProfileViolation);
}

TEST_F(Issue, InvalidSubjectIdIsInvalidArgument) {
  expect_refused(testing::make_csr(), testing::request(Role::kDoctor, "dr 1,O=x"),
                 ErrorCode::kInvalidArgument);
  expect_refused(testing::make_csr(), testing::request(Role::kDoctor, ""),
                 ErrorCode::kInvalidArgument);
}

TEST(CsrParse, MalformedInputIsCsrInvalid) {
  for (std::string text :
       {"", "garbage",
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}) {
    auto csr = CertificateRequest::parse(core::to_bytes(text));
    ASSERT_FALSE(csr.ok()) << text;
    EXPECT_EQ(csr.error().code, ErrorCode::kCsrInvalid);
  }
  core::Bytes der = testing::make_csr().to_der();
  der.push_back(0);
  auto trailing = CertificateRequest::parse(der);
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.error().code, ErrorCode::kCsrInvalid);
}

TEST(CsrParse, PemAndDerRoundTrip) {
  auto csr = testing::make_csr(testing::CsrSpec().with_subject({{"CN", "dr-1"}}));
  auto from_pem = CertificateRequest::parse(core::to_bytes(csr.to_pem()));
  ASSERT_TRUE(from_pem.ok());
  EXPECT_EQ(from_pem->to_der(), csr.to_der());
  EXPECT_EQ(from_pem->subject(), "CN=dr-1");
}

TEST(Roles, NamesRoundTripAndUnknownRoleIsInvalidArgument) {
  for (const Profile& profile : all_profiles()) {
    auto role = parse_role(role_name(profile.role));
    ASSERT_TRUE(role.ok());
    EXPECT_EQ(*role, profile.role);
    EXPECT_LE(profile.default_validity_days, profile.max_validity_days);
  }
  auto unknown = parse_role("surgeon");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace medledger::ca
