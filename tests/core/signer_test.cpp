#include <gtest/gtest.h>

#include "medledger/core/software_signer.h"

using namespace medledger::core;

class SoftwareSignerTest : public ::testing::TestWithParam<KeyAlgorithm> {};

TEST_P(SoftwareSignerTest, SignatureVerifiesAndFailsOnOtherDigest) {
  auto signer = SoftwareSigner::generate(GetParam());
  ASSERT_TRUE(signer);
  auto digest = sha256(to_bytes("record"));
  auto sig = (*signer)->sign_digest(digest);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(verify_digest_signature((*signer)->public_key_spki(), digest, *sig));
  auto other = sha256(to_bytes("tampered"));
  auto bad = verify_digest_signature((*signer)->public_key_spki(), other, *sig);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kSignatureInvalid);
}

TEST_P(SoftwareSignerTest, PemRoundTripKeepsThePublicKey) {
  auto signer = SoftwareSigner::generate(GetParam());
  ASSERT_TRUE(signer);
  auto pem = (*signer)->private_key_pem();
  auto loaded = SoftwareSigner::from_pem(std::string_view(reinterpret_cast<const char*>(pem.data()), pem.size()));
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)->public_key_spki(), (*signer)->public_key_spki());
  EXPECT_EQ((*loaded)->algorithm(), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SoftwareSignerTest,
                         ::testing::Values(KeyAlgorithm::kEcdsaP256, KeyAlgorithm::kEd25519),
                         [](const auto& info) { return std::string(info.param == KeyAlgorithm::kEd25519 ? "Ed25519" : "P256"); });

TEST(VerifyDigestSignature, GarbageKeyIsMalformed) {
  auto r = verify_digest_signature(to_bytes("not a key"), sha256(to_bytes("x")), to_bytes("sig"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kMalformedEncoding);
}

TEST(KeyAlgorithmNames, ParseAndPrintAgree) {
  EXPECT_EQ(*parse_key_algorithm(key_algorithm_name(KeyAlgorithm::kEcdsaP256)), KeyAlgorithm::kEcdsaP256);
  EXPECT_EQ(*parse_key_algorithm(key_algorithm_name(KeyAlgorithm::kEd25519)), KeyAlgorithm::kEd25519);
  auto bad = parse_key_algorithm("rsa");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kUnsupportedAlgorithm);
}
