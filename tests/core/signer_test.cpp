#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

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
  auto loaded = SoftwareSigner::from_pem(
      std::string_view(reinterpret_cast<const char*>(pem.data()), pem.size()));
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)->public_key_spki(), (*signer)->public_key_spki());
  EXPECT_EQ((*loaded)->algorithm(), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SoftwareSignerTest,
                         ::testing::Values(KeyAlgorithm::kEcdsaP256, KeyAlgorithm::kEd25519),
                         [](const auto& info) {
                           return std::string(info.param == KeyAlgorithm::kEd25519 ? "Ed25519"
                                                                                   : "P256");
                         });

TEST(VerifyDigestSignature, GarbageKeyIsMalformed) {
  auto r = verify_digest_signature(to_bytes("not a key"), sha256(to_bytes("x")), to_bytes("sig"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kMalformedEncoding);
}

TEST(KeyAlgorithmNames, ParseAndPrintAgree) {
  EXPECT_EQ(*parse_key_algorithm(key_algorithm_name(KeyAlgorithm::kEcdsaP256)),
            KeyAlgorithm::kEcdsaP256);
  EXPECT_EQ(*parse_key_algorithm(key_algorithm_name(KeyAlgorithm::kEd25519)),
            KeyAlgorithm::kEd25519);
  auto bad = parse_key_algorithm("rsa");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kUnsupportedAlgorithm);
}

// The parsed-key cache behind verify_digest_signature (signer.h). Each test runs in
// its own process (gtest_discover_tests), so the process-wide cache starts empty.
namespace {

std::unique_ptr<SoftwareSigner> p256() {
  auto signer = SoftwareSigner::generate(KeyAlgorithm::kEcdsaP256);
  EXPECT_TRUE(signer);
  return std::move(*signer);
}

bool verifies(SoftwareSigner& signer, const Digest& digest) {
  auto sig = signer.sign_digest(digest);
  return sig && verify_digest_signature(signer.public_key_spki(), digest, *sig).ok();
}

}  // namespace

TEST(VerifyKeyCache, SecondVerificationUnderTheSameKeyIsAHitAndStillChecksTheSignature) {
  clear_verify_key_cache();
  auto signer = p256();
  const Digest digest = sha256(to_bytes("tx"));
  EXPECT_TRUE(verifies(*signer, digest));
  EXPECT_EQ(verify_key_cache_stats().misses, 1u);
  EXPECT_EQ(verify_key_cache_stats().hits, 0u);
  EXPECT_TRUE(verifies(*signer, digest));
  EXPECT_EQ(verify_key_cache_stats().hits, 1u);
  // A cached key still refuses a signature over other bytes.
  auto sig = signer->sign_digest(digest);
  ASSERT_TRUE(sig);
  auto bad = verify_digest_signature(signer->public_key_spki(), sha256(to_bytes("other")), *sig);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kSignatureInvalid);
  EXPECT_EQ(verify_key_cache_stats().size, 1u);
}

TEST(VerifyKeyCache, UnparsableAndUnsupportedKeysAreNeverCachedAndKeepTheirCodes) {
  clear_verify_key_cache();
  for (int i = 0; i < 2; ++i) {
    auto r = verify_digest_signature(to_bytes("not a key"), sha256(to_bytes("x")), to_bytes("sig"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kMalformedEncoding);
  }
  EXPECT_EQ(verify_key_cache_stats().size, 0u);
  EXPECT_EQ(verify_key_cache_stats().misses, 2u);
}

TEST(VerifyKeyCache, CacheNeverHoldsMoreThanItsCapacityAndEvictsTheLeastRecentlyUsed) {
  clear_verify_key_cache();
  const Digest digest = sha256(to_bytes("tx"));
  auto first = p256();
  auto second = p256();
  ASSERT_TRUE(verifies(*first, digest));
  ASSERT_TRUE(verifies(*second, digest));
  for (std::size_t i = 0; i < kVerifyKeyCacheCapacity - 1; ++i) {
    auto other = p256();
    ASSERT_TRUE(verifies(*other, digest));
    if (i % 64 == 0) {
      ASSERT_TRUE(verifies(*second, digest));  // keeps `second` recently used
    }
  }
  EXPECT_EQ(verify_key_cache_stats().size, kVerifyKeyCacheCapacity);
  // `first` was the least recently used: evicted, so verifying again parses it.
  const auto before = verify_key_cache_stats();
  EXPECT_TRUE(verifies(*first, digest));
  EXPECT_EQ(verify_key_cache_stats().misses, before.misses + 1);
  EXPECT_TRUE(verifies(*second, digest));
  EXPECT_EQ(verify_key_cache_stats().hits, before.hits + 1);
  EXPECT_EQ(verify_key_cache_stats().size, kVerifyKeyCacheCapacity);
}

TEST(VerifyKeyCache, ConcurrentVerificationsUnderSharedKeysAllSucceed) {
  clear_verify_key_cache();
  std::vector<std::unique_ptr<SoftwareSigner>> signers;
  for (int i = 0; i < 4; ++i) signers.push_back(p256());
  const Digest digest = sha256(to_bytes("tx"));
  std::vector<Bytes> signatures;
  for (auto& s : signers) signatures.push_back(*s->sign_digest(digest));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        const auto k = static_cast<std::size_t>(i % 4);
        if (!verify_digest_signature(signers[k]->public_key_spki(), digest, signatures[k]))
          ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(verify_key_cache_stats().size, 4u);
}
