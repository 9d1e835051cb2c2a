// CA certificates: self-signed, intermediate, and binding a certificate to its key.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "ca_test_support.h"
#include "medledger/ca/limits.h"

namespace medledger::ca {
namespace {

using testing::kDay;
using testing::kNow;

TEST(CaCertificate, SelfSignedCaHasCaExtensionsAndHospitalSubject) {
  auto ca = testing::make_ca("hospital-a");
  const Certificate& cert = ca.ca->certificate();
  EXPECT_EQ(cert.subject(), "CN=hospital-a CA,O=hospital-a");
  EXPECT_EQ(cert.issuer(), cert.subject());
  EXPECT_TRUE(cert.is_ca());
  EXPECT_TRUE(cert.is_self_signed());
  EXPECT_EQ(X509_get_pathlen(cert.get()), 0);
  EXPECT_EQ(X509_get_key_usage(cert.get()),
            static_cast<std::uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  int critical = -1;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_basic_constraints, &critical, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(critical, 1);
  BASIC_CONSTRAINTS_free(bc);
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(cert.not_after() - kNow, kDefaultCaValidityDays * kDay);
  EXPECT_EQ(ca.ca->hospital_id(), "hospital-a");
}

TEST(CaCertificate, SelfSignedSignatureVerifiesWithTheSignerKey) {
  auto ca = testing::make_ca();
  EXPECT_EQ(X509_verify(ca.ca->certificate().get(), X509_get0_pubkey(ca.ca->certificate().get())),
            1);
  EXPECT_EQ(ca.ca->certificate().public_key_spki(), ca.signer->public_key_spki());
}

TEST(CaCertificate, Ed25519CaKeyIsRefusedAsUnsupported) {
  auto signer = core::SoftwareSigner::generate(core::KeyAlgorithm::kEd25519);
  ASSERT_TRUE(signer.ok());
  auto cert = CertificateAuthority::self_signed(**signer, testing::ca_options("hospital-a"), kNow);
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, core::ErrorCode::kUnsupportedAlgorithm);
}

TEST(CaCertificate, InvalidHospitalIdIsRefused) {
  auto signer = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  for (const std::string& id : std::vector<std::string>{
           "", "has space", "-leading", std::string(kMaxIdLength + 1, 'a'), "a,O=evil"}) {
    auto cert = CertificateAuthority::self_signed(**signer, testing::ca_options(id), kNow);
    ASSERT_FALSE(cert.ok()) << id;
    EXPECT_EQ(cert.error().code, core::ErrorCode::kInvalidArgument);
  }
}

TEST(CaCertificate, ValidityBeyondTheCaMaximumIsRefused) {
  auto signer = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  auto cert = CertificateAuthority::self_signed(
      **signer, testing::ca_options("h", kMaxCaValidityDays + 1), kNow);
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, core::ErrorCode::kInvalidArgument);
}

TEST(CaOpen, CertificateForAnotherKeyIsRefused) {
  auto ca = testing::make_ca();
  auto other = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  auto opened = CertificateAuthority::open(**other, ca.ca->certificate(), {});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, core::ErrorCode::kCertificateInvalid);
}

TEST(CaOpen, EndEntityCertificateIsNotACa) {
  auto ca = testing::make_ca();
  auto signer = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  auto leaf = ca.ca->issue_for_key((*signer)->public_key_spki(),
                                   testing::request(Role::kAdmin, "adm-1"), kNow);
  ASSERT_TRUE(leaf.ok());
  auto opened = CertificateAuthority::open(**signer, *leaf, {ca.ca->certificate()});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, core::ErrorCode::kCertificateInvalid);
}

TEST(CaOpen, ChainThatDoesNotLinkIsRefused) {
  auto [root, intermediate] = testing::make_root_and_intermediate();
  auto stranger = testing::make_ca("hospital-b");
  auto opened = CertificateAuthority::open(*intermediate.signer, intermediate.ca->certificate(),
                                           {stranger.ca->certificate()});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, core::ErrorCode::kCertificateInvalid);
  // Without the root the chain does not end in a self-signed certificate.
  auto missing =
      CertificateAuthority::open(*intermediate.signer, intermediate.ca->certificate(), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, core::ErrorCode::kCertificateInvalid);
}

TEST(Intermediate, RootSignsIntermediateWithPathlenZeroAndKeepsTheChain) {
  auto [root, intermediate] = testing::make_root_and_intermediate("hospital-a");
  const Certificate& cert = intermediate.ca->certificate();
  EXPECT_EQ(cert.issuer(), "CN=hospital-a Root CA,O=hospital-a");
  EXPECT_EQ(cert.subject(), "CN=hospital-a CA,O=hospital-a");
  EXPECT_TRUE(cert.is_ca());
  EXPECT_EQ(X509_get_pathlen(cert.get()), 0);
  EXPECT_EQ(X509_get_pathlen(root.ca->certificate().get()), 1);
  ASSERT_EQ(intermediate.ca->chain().size(), 2u);
  EXPECT_EQ(intermediate.ca->root().subject(), root.ca->certificate().subject());
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(root.ca->certificate().get())), 1);
}

TEST(Intermediate, IssuingCaWithPathlenZeroMayNotCertifyAnotherCa) {
  auto ca = testing::make_ca();
  auto sub = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  auto csr = CertificateAuthority::intermediate_request(**sub, testing::ca_options("hospital-a"));
  ASSERT_TRUE(csr.ok());
  auto cert = ca.ca->issue_intermediate(*csr, testing::ca_options("hospital-a"), kNow);
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, core::ErrorCode::kProfileViolation);
}

TEST(Intermediate, RequestNamingAnotherHospitalIsRefused) {
  auto [root, intermediate] = testing::make_root_and_intermediate();
  auto sub = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  auto csr = CertificateAuthority::intermediate_request(**sub, testing::ca_options("hospital-b"));
  ASSERT_TRUE(csr.ok());
  auto cert = root.ca->issue_intermediate(*csr, testing::ca_options("hospital-a"), kNow);
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, core::ErrorCode::kProfileViolation);
}

TEST(Intermediate, RequestWithBadSignatureIsRefused) {
  auto [root, intermediate] = testing::make_root_and_intermediate();
  auto csr = testing::make_csr(testing::CsrSpec().with_subject({{"O", "hospital-a"}}).corrupted());
  auto cert = root.ca->issue_intermediate(csr, testing::ca_options("hospital-a"), kNow);
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, core::ErrorCode::kCsrSignatureInvalid);
}

TEST(Intermediate, DefaultValidityIsClampedToTheRoot) {
  auto [root, intermediate] = testing::make_root_and_intermediate();
  auto sub = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  auto csr = CertificateAuthority::intermediate_request(**sub, testing::ca_options("hospital-a"));
  auto later =
      root.ca->issue_intermediate(*csr, testing::ca_options("hospital-a"), kNow + 100 * kDay);
  ASSERT_TRUE(later.ok()) << later.error().to_string();
  EXPECT_EQ(later->not_after(), root.ca->certificate().not_after());
  auto explicit_days =
      root.ca->issue_intermediate(*csr, testing::ca_options("hospital-a", 3650), kNow + 100 * kDay);
  ASSERT_FALSE(explicit_days.ok());
  EXPECT_EQ(explicit_days.error().code, core::ErrorCode::kProfileViolation);
}

}  // namespace
}  // namespace medledger::ca
