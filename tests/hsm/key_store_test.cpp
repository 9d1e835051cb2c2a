#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "hsm_test_support.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/public_key.h"
#include "medledger/hsm/token_signer.h"

namespace medledger::hsm::testing {
namespace {

using core::ErrorCode;
using core::KeyAlgorithm;

class KeyStoreTest : public TokenTest, public ::testing::WithParamInterface<KeyAlgorithm> {
 protected:
  void SetUp() override {
    TokenTest::SetUp();
    // A token without the algorithm (NSS's softoken has no Ed25519) is tested by
    // EdwardsKeysOnATokenWithoutThemAreMechanismMissing instead.
    auto mechanisms = expect_ok(token_mechanisms(*module_, token_.slot));
    auto missing = missing_for(capability(), mechanisms);
    if (!missing.empty()) GTEST_SKIP() << "token lacks " << missing.front();
  }
  Capability capability() const {
    return GetParam() == KeyAlgorithm::kEcdsaP256 ? Capability::kEcdsaP256 : Capability::kEd25519;
  }
};

TEST_F(TokenTest, EdwardsKeysOnATokenWithoutThemAreMechanismMissing) {
  auto pool = open_pool();
  KeyStore store(pool);
  auto key = store.generate({"ed-key", KeyAlgorithm::kEd25519});
  if (pool->require(Capability::kEd25519)) {
    EXPECT_TRUE(key) << "a token with Ed25519 generates it";
    return;
  }
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, core::ErrorCode::kMechanismMissing);
  EXPECT_NE(key.error().message.find("CKM_EC_EDWARDS_KEY_PAIR_GEN, needed for ed25519 signing"),
            std::string::npos)
      << key.error().message;
}

TEST_P(KeyStoreTest, GeneratedKeyIsSensitiveNeverExtractableSignOnlyWithOneIdOnBothHalves) {
  auto pool = open_pool();
  KeyStore store(pool);
  auto key = expect_ok(store.generate({"doctor-1", GetParam()}));
  EXPECT_EQ(key.id, key_id_for(key.public_key_spki));
  EXPECT_EQ(key.id.size(), kKeyIdSize);

  auto lease = expect_ok(pool->acquire());
  auto priv = expect_ok(pool->find_key(lease, CKO_PRIVATE_KEY, key.id));
  auto pub = expect_ok(pool->find_key(lease, CKO_PUBLIC_KEY, key.id));
  Session& s = lease.session();
  EXPECT_TRUE(expect_ok(s.bool_attribute(priv, CKA_TOKEN)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(priv, CKA_PRIVATE)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(priv, CKA_SENSITIVE)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(priv, CKA_EXTRACTABLE)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(priv, CKA_NEVER_EXTRACTABLE)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(priv, CKA_ALWAYS_SENSITIVE)));
  EXPECT_TRUE(expect_ok(s.bool_attribute(priv, CKA_SIGN)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(priv, CKA_DECRYPT)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(priv, CKA_DERIVE)));
  EXPECT_FALSE(expect_ok(s.bool_attribute(priv, CKA_UNWRAP)));
  EXPECT_EQ(expect_ok(s.attribute(priv, CKA_ID)), key.id);
  EXPECT_EQ(expect_ok(s.attribute(pub, CKA_ID)), key.id);
  EXPECT_EQ(core::to_string(expect_ok(s.attribute(priv, CKA_LABEL))), "doctor-1");
  // The private value cannot be read.
  auto value = s.attribute(priv, CKA_VALUE);
  ASSERT_FALSE(value);
  EXPECT_NE(value.error().message.find("CKR_ATTRIBUTE_SENSITIVE"), std::string::npos)
      << value.error().message;
}

TEST_P(KeyStoreTest, TokenSignaturesVerifyWithOpenSsl) {
  KeyStore store(open_pool());
  auto key = expect_ok(store.generate({"patient-7", GetParam()}));
  auto signer = expect_ok(store.signer(key.id));
  EXPECT_EQ(signer->algorithm(), GetParam());
  EXPECT_EQ(signer->public_key_spki(), key.public_key_spki);
  auto digest = core::sha256(core::to_bytes("medical record v1"));
  auto signature = expect_ok(signer->sign_digest(digest));
  EXPECT_TRUE(core::verify_digest_signature(key.public_key_spki, digest, signature));
  auto other = core::sha256(core::to_bytes("medical record v2"));
  auto wrong = core::verify_digest_signature(key.public_key_spki, other, signature);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kSignatureInvalid);
}

TEST_P(KeyStoreTest, KeysAreListedFoundByIdOrLabelAndExportedAsPem) {
  KeyStore store(open_pool());
  auto a = expect_ok(store.generate({"b-key", GetParam()}));
  auto b = expect_ok(store.generate({"a-key", KeyAlgorithm::kEcdsaP256}));
  auto keys = expect_ok(store.list());
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].label, "a-key");
  EXPECT_EQ(keys[1].id, a.id);
  EXPECT_EQ(keys[1].algorithm, GetParam());
  EXPECT_EQ(expect_ok(store.find_by_label("a-key")).id, b.id);
  EXPECT_EQ(expect_ok(store.find_by_id(a.id)).public_key_spki, a.public_key_spki);
  std::string pem = spki_to_pem(a.public_key_spki);
  EXPECT_EQ(pem.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, KeyStoreTest,
                         ::testing::Values(KeyAlgorithm::kEcdsaP256, KeyAlgorithm::kEd25519),
                         [](const auto& info) {
                           return info.param == KeyAlgorithm::kEd25519 ? "Ed25519" : "P256";
                         });

TEST_F(TokenTest, MissingKeysAreKeyNotFoundAndTakenLabelsAlreadyExists) {
  KeyStore store(open_pool());
  EXPECT_EQ(store.find_by_label("nobody").error().code, ErrorCode::kKeyNotFound);
  EXPECT_EQ(store.find_by_id(core::Bytes(20, 0xab)).error().code, ErrorCode::kKeyNotFound);
  EXPECT_EQ(store.signer(core::Bytes(20, 0xab)).error().code, ErrorCode::kKeyNotFound);
  expect_ok(store.generate({"same", KeyAlgorithm::kEcdsaP256}));
  auto again = store.generate({"same", KeyAlgorithm::kEcdsaP256});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store.generate({"", KeyAlgorithm::kEcdsaP256}).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(TokenTest, DestroyedKeyIsGoneForListingFindingAndSigning) {
  KeyStore store(open_pool());
  auto key = expect_ok(store.generate({"short-lived", KeyAlgorithm::kEcdsaP256}));
  expect_ok(store.destroy(key.id));
  EXPECT_TRUE(expect_ok(store.list()).empty());
  EXPECT_EQ(store.find_by_id(key.id).error().code, ErrorCode::kKeyNotFound);
  EXPECT_EQ(store.destroy(key.id).error().code, ErrorCode::kKeyNotFound);
}

class ConcurrentSigning : public TokenTest,
                          public ::testing::WithParamInterface<SigningKeyStrategy> {};

TEST_P(ConcurrentSigning, FourThreadsSignThroughThePoolAndEverySignatureVerifies) {
  constexpr int kThreads = 4;
  constexpr int kSignaturesPerThread = 25;
  PoolOptions options;
  options.strategy = GetParam();
  options.max_sessions = kThreads;
  auto pool = open_pool(options);
  KeyStore store(pool);
  auto key = expect_ok(store.generate({"node", KeyAlgorithm::kEcdsaP256}));
  auto signer = expect_ok(store.signer(key.id));
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSignaturesPerThread; ++i) {
        auto digest =
            core::sha256(core::to_bytes("tx " + std::to_string(t) + "/" + std::to_string(i)));
        auto signature = signer->sign_digest(digest);
        if (signature && core::verify_digest_signature(key.public_key_spki, digest, *signature))
          ++verified;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(verified.load(), kThreads * kSignaturesPerThread);
  EXPECT_LE(pool->open_sessions(), static_cast<std::size_t>(kThreads));
}

INSTANTIATE_TEST_SUITE_P(Strategies, ConcurrentSigning,
                         ::testing::Values(SigningKeyStrategy::kTokenObject,
                                           SigningKeyStrategy::kSessionCopy),
                         [](const auto& info) {
                           return info.param == SigningKeyStrategy::kTokenObject ? "TokenObject"
                                                                                 : "SessionCopy";
                         });

}  // namespace
}  // namespace medledger::hsm::testing
