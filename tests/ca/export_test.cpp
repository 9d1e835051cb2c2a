// Export: PEM bundle and certs-only PKCS#7, and certificate parsing.
#include <gtest/gtest.h>
#include <openssl/pkcs7.h>

#include "ca_test_support.h"
#include "medledger/ca/export.h"

namespace medledger::ca {
namespace {

using core::ErrorCode;

TEST(Export, PemBundleParsesBackInOrder) {
  auto [root, intermediate] = testing::make_root_and_intermediate();
  auto chain = intermediate.ca->chain();
  auto parsed = parse_pem_bundle(pem_bundle(chain));
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].to_der(), chain[0].to_der());
  EXPECT_EQ((*parsed)[1].to_der(), chain[1].to_der());
}

TEST(Export, Pkcs7HoldsEveryCertificateAndNoSigner) {
  auto [root, intermediate] = testing::make_root_and_intermediate();
  auto der = pkcs7_certs_only_der(intermediate.ca->chain());
  ASSERT_TRUE(der.ok());
  const unsigned char* p = der->data();
  PKCS7* p7 = d2i_PKCS7(nullptr, &p, static_cast<long>(der->size()));
  ASSERT_NE(p7, nullptr);
  ASSERT_TRUE(PKCS7_type_is_signed(p7));
  EXPECT_EQ(sk_X509_num(p7->d.sign->cert), 2);
  EXPECT_EQ(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0);
  PKCS7_free(p7);
  auto pem = pkcs7_certs_only_pem(intermediate.ca->chain());
  ASSERT_TRUE(pem.ok());
  EXPECT_TRUE(pem->starts_with("-----BEGIN PKCS7-----"));
  EXPECT_EQ(pkcs7_certs_only_der({}).error().code, ErrorCode::kInvalidArgument);
}

TEST(CertificateParse, MalformedPemAndDerAreMalformedEncoding) {
  for (std::string text :
       {"", "not a cert", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}) {
    auto cert = Certificate::parse(core::to_bytes(text));
    ASSERT_FALSE(cert.ok()) << text;
    EXPECT_EQ(cert.error().code, ErrorCode::kMalformedEncoding);
  }
  auto ca = testing::make_ca();
  core::Bytes der = ca.ca->certificate().to_der();
  der.push_back(0);
  EXPECT_EQ(Certificate::from_der(der).error().code, ErrorCode::kMalformedEncoding);
  der.resize(der.size() - 10);
  EXPECT_EQ(Certificate::from_der(der).error().code, ErrorCode::kMalformedEncoding);
  EXPECT_EQ(parse_pem_bundle("nothing").error().code, ErrorCode::kMalformedEncoding);
}

TEST(CertificateParse, PemAndDerRoundTrip) {
  auto ca = testing::make_ca();
  auto from_pem = Certificate::parse(core::to_bytes(ca.ca->certificate().to_pem()));
  ASSERT_TRUE(from_pem.ok());
  auto from_der = Certificate::parse(ca.ca->certificate().to_der());
  ASSERT_TRUE(from_der.ok());
  EXPECT_EQ(from_pem->to_der(), from_der->to_der());
  EXPECT_EQ(from_pem->serial_hex(), ca.ca->certificate().serial_hex());
}

}  // namespace
}  // namespace medledger::ca
