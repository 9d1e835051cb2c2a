// The memo of valid signatures behind verify_digest_signature (signer.h): a triple
// found valid is answered again by a hash, a failure is never remembered, and no
// part of a remembered triple can be swapped for another. Each test runs in its own
// process (gtest_discover_tests), so the process-wide memo starts empty.
#include <gtest/gtest.h>

#include <cstring>

#include "medledger/core/software_signer.h"
#include "verified_signatures.h"

using namespace medledger::core;

namespace {

struct Signed {
  std::unique_ptr<SoftwareSigner> signer;
  Digest digest;
  Bytes signature;
};

Signed make_signed(KeyAlgorithm algorithm, std::string_view text) {
  auto signer = SoftwareSigner::generate(algorithm);
  EXPECT_TRUE(signer);
  Signed out{std::move(*signer), sha256(to_bytes(text)), {}};
  auto signature = out.signer->sign_digest(out.digest);
  EXPECT_TRUE(signature);
  out.signature = std::move(*signature);
  return out;
}

}  // namespace

TEST(VerifiedSignatureMemo, SecondVerificationOfTheSameSignatureIsAnsweredFromTheMemo) {
  clear_verified_signature_memo();
  auto s = make_signed(KeyAlgorithm::kEcdsaP256, "tx");
  ASSERT_TRUE(verify_digest_signature(s.signer->public_key_spki(), s.digest, s.signature));
  EXPECT_EQ(verified_signature_memo_stats().misses, 1u);
  EXPECT_EQ(verified_signature_memo_stats().size, 1u);
  const auto keys_before = verify_key_cache_stats();
  ASSERT_TRUE(verify_digest_signature(s.signer->public_key_spki(), s.digest, s.signature));
  EXPECT_EQ(verified_signature_memo_stats().hits, 1u);
  // Answered before the key was even looked up.
  EXPECT_EQ(verify_key_cache_stats().hits, keys_before.hits);
  EXPECT_EQ(verify_key_cache_stats().misses, keys_before.misses);
}

TEST(VerifiedSignatureMemo, AnInvalidSignatureIsNeverRememberedAndFailsEveryTime) {
  clear_verified_signature_memo();
  auto s = make_signed(KeyAlgorithm::kEcdsaP256, "tx");
  s.signature[s.signature.size() / 2] ^= 0x01;
  for (int i = 0; i < 2; ++i) {
    auto r = verify_digest_signature(s.signer->public_key_spki(), s.digest, s.signature);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kSignatureInvalid);
  }
  EXPECT_EQ(verified_signature_memo_stats().size, 0u);
  EXPECT_EQ(verified_signature_memo_stats().hits, 0u);
}

TEST(VerifiedSignatureMemo, ARememberedSignatureDoesNotVouchForAnotherKeyOrDigest) {
  clear_verified_signature_memo();
  for (KeyAlgorithm algorithm : {KeyAlgorithm::kEcdsaP256, KeyAlgorithm::kEd25519}) {
    auto s = make_signed(algorithm, "tx");
    auto other = make_signed(algorithm, "tx");
    ASSERT_TRUE(verify_digest_signature(s.signer->public_key_spki(), s.digest, s.signature));
    auto other_key =
        verify_digest_signature(other.signer->public_key_spki(), s.digest, s.signature);
    ASSERT_FALSE(other_key);
    EXPECT_EQ(other_key.error().code, ErrorCode::kSignatureInvalid);
    auto other_digest =
        verify_digest_signature(s.signer->public_key_spki(), sha256(to_bytes("tx2")), s.signature);
    ASSERT_FALSE(other_digest);
    EXPECT_EQ(other_digest.error().code, ErrorCode::kSignatureInvalid);
  }
}

TEST(VerifiedSignatureMemo, WithoutMemoVerificationNeitherConsultsNorFillsIt) {
  clear_verified_signature_memo();
  auto s = make_signed(KeyAlgorithm::kEcdsaP256, "tx");
  ASSERT_TRUE(
      verify_digest_signature_without_memo(s.signer->public_key_spki(), s.digest, s.signature));
  EXPECT_EQ(verified_signature_memo_stats().size, 0u);
  ASSERT_TRUE(verify_digest_signature(s.signer->public_key_spki(), s.digest, s.signature));
  ASSERT_TRUE(
      verify_digest_signature_without_memo(s.signer->public_key_spki(), s.digest, s.signature));
  EXPECT_EQ(verified_signature_memo_stats().hits, 0u);
  s.signature[4] ^= 0x01;
  auto bad =
      verify_digest_signature_without_memo(s.signer->public_key_spki(), s.digest, s.signature);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kSignatureInvalid);
}

TEST(VerifiedSignatureMemo, MemoNeverHoldsMoreThanItsCapacityAndForgetsTheOldestFirst) {
  clear_verified_signature_memo();
  auto key_number = [](std::uint32_t n) {
    Digest d{};
    std::memcpy(d.data(), &n, sizeof n);
    return sha256(ByteView(d.data(), d.size()));  // spread over the shards like real keys
  };
  const std::uint32_t total = kVerifiedSignatureMemoCapacity + kVerifiedSignatureMemoCapacity / 2;
  for (std::uint32_t n = 0; n < total; ++n) detail::remember_verified_signature(key_number(n));
  EXPECT_LE(verified_signature_memo_stats().size, kVerifiedSignatureMemoCapacity);
  EXPECT_GT(verified_signature_memo_stats().size, kVerifiedSignatureMemoCapacity * 9 / 10);
  EXPECT_FALSE(detail::verified_signature_known(key_number(0)));         // among the oldest
  EXPECT_TRUE(detail::verified_signature_known(key_number(total - 1)));  // the newest
}

TEST(VerifiedSignatureMemo,
     KeyAlgorithmOfAVerifiedKeyComesFromTheParsedKeyCacheAndAgreesWithTheParse) {
  clear_verify_key_cache();
  for (KeyAlgorithm algorithm : {KeyAlgorithm::kEcdsaP256, KeyAlgorithm::kEd25519}) {
    auto s = make_signed(algorithm, "tx");
    auto parsed = key_algorithm_of_spki(s.signer->public_key_spki());  // not cached yet: parsed
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, algorithm);
    ASSERT_TRUE(verify_digest_signature(s.signer->public_key_spki(), s.digest, s.signature));
    const auto hits_before = verify_key_cache_stats().hits;
    auto cached = key_algorithm_of_spki(s.signer->public_key_spki());
    ASSERT_TRUE(cached);
    EXPECT_EQ(*cached, algorithm);
    EXPECT_EQ(verify_key_cache_stats().hits, hits_before + 1);
  }
  auto garbage = key_algorithm_of_spki(to_bytes("not a key"));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kMalformedEncoding);
}
