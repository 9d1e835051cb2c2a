#include <gtest/gtest.h>

#include "hsm_test_support.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/token_signer.h"

namespace medledger::hsm::testing {
namespace {

using core::ErrorCode;
using core::KeyAlgorithm;

class SessionPoolTest : public TokenTest {
 protected:
  void make_key(PoolOptions options = {}) {
    pool_ = open_pool(options);
    KeyStore store(pool_);
    key_ = expect_ok(store.generate({"node", KeyAlgorithm::kEcdsaP256}));
    signer_ = expect_ok(store.signer(key_.id));
  }
  void expect_signs() {
    auto digest = core::sha256(core::to_bytes("after the fault"));
    auto signature = signer_->sign_digest(digest);
    ASSERT_TRUE(signature) << signature.error().to_string();
    expect_ok(core::verify_digest_signature(key_.public_key_spki, digest, *signature));
  }
  std::shared_ptr<SessionPool> pool_;
  KeyInfo key_;
  std::unique_ptr<TokenSigner> signer_;
};

TEST_F(SessionPoolTest, BusySessionsBeyondTheBoundAreSessionExhaustedAfterTheWait) {
  PoolOptions options;
  options.max_sessions = 2;
  options.wait = std::chrono::milliseconds(50);
  auto pool = open_pool(options);
  auto first = expect_ok(pool->acquire());
  auto second = expect_ok(pool->acquire());
  EXPECT_NE(first.handle(), second.handle());
  auto third = pool->acquire();
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::kSessionExhausted);
  { auto returned = std::move(second); }
  EXPECT_TRUE(pool->acquire());  // a returned session is reused, not a new one opened
  EXPECT_EQ(pool->open_sessions(), 2u);
}

TEST_F(SessionPoolTest, OptionsAreClampedToTheNamedLimits) {
  PoolOptions options;
  options.max_sessions = 1000;
  options.wait = std::chrono::hours(1);
  options.max_unwrapped_keys = 0;
  auto pool = open_pool(options);
  EXPECT_EQ(pool->options().max_sessions, kMaxPoolSessions);
  EXPECT_EQ(pool->options().wait, kSessionWaitLimit);
  EXPECT_EQ(pool->options().max_unwrapped_keys, 1u);
}

TEST_F(SessionPoolTest, AClosedSessionIsDroppedAndTheOperationRetriedOnAnother) {
  PoolOptions options;
  options.max_sessions = 2;
  make_key(options);
  {
    auto lease = expect_ok(pool_->acquire());
    // Close it behind the pool's back: its next call fails CKR_SESSION_HANDLE_INVALID.
    ASSERT_EQ(module_->fn()->C_CloseSession(lease.handle()), static_cast<CK_RV>(CKR_OK));
  }
  expect_signs();
  EXPECT_EQ(pool_->open_sessions(), 1u);
}

TEST_F(SessionPoolTest, AFinalizedModuleIsReinitialisedTheTokenFoundAgainAndTheUserLoggedInAgain) {
  make_key();
  expect_signs();
  ASSERT_EQ(module_->fn()->C_Finalize(nullptr), static_cast<CK_RV>(CKR_OK));  // every handle dies
  auto before = module_->generation();
  expect_signs();  // CKR_CRYPTOKI_NOT_INITIALIZED -> reinitialise -> retry
  EXPECT_EQ(module_->generation(), before + 1);
}

TEST_F(SessionPoolTest, ALoggedOutTokenIsLoggedInAgainAndTheSignatureRetried) {
  make_key();
  {
    auto lease = expect_ok(pool_->acquire());
    expect_ok(lease.session().logout());  // CKR_USER_NOT_LOGGED_IN on the next sign
  }
  expect_signs();
}

TEST_F(SessionPoolTest, ATokenThatStaysGoneIsTokenUnavailable) {
  make_key();
  ASSERT_EQ(module_->fn()->C_Finalize(nullptr), static_cast<CK_RV>(CKR_OK));
  // The token directory disappears while the module is down: recovery cannot find it.
  std::filesystem::remove_all(dir_.root() / "tokens");
  std::filesystem::create_directories(dir_.root() / "tokens");
  auto signature = signer_->sign_digest(core::sha256(core::to_bytes("x")));
  ASSERT_FALSE(signature);
  EXPECT_EQ(signature.error().code, ErrorCode::kTokenUnavailable) << signature.error().to_string();
  // What a finalised module answers differs: SoftHSM2 CKR_CRYPTOKI_NOT_INITIALIZED; NSS
  // CKR_SESSION_HANDLE_INVALID, and its re-initialisation fails without the database.
  const bool nss = token_.manufacturer == "Mozilla Foundation";
  EXPECT_NE(
      signature.error().message.find(nss ? "recovery failed" : "CKR_CRYPTOKI_NOT_INITIALIZED"),
      std::string::npos)
      << signature.error().message;
}

TEST_F(SessionPoolTest, NonFaultErrorsAreReturnedWithoutRetry) {
  make_key();
  auto generation = module_->generation();
  auto missing = pool_->with_retry<CK_OBJECT_HANDLE>("find", [&](SessionPool::Lease& lease) {
    return pool_->find_key(lease, CKO_PRIVATE_KEY, core::Bytes(20, 0x42));
  });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kKeyNotFound);
  EXPECT_EQ(module_->generation(), generation);
}

TEST_F(SessionPoolTest, PerSessionKeyCopiesAreSessionObjectsThatCanSign) {
  PoolOptions options;
  options.strategy = SigningKeyStrategy::kSessionCopy;
  make_key(options);
  expect_signs();
  auto lease = expect_ok(pool_->acquire());
  auto copy = expect_ok(lease.signing_key(key_.id));
  auto original = expect_ok(pool_->find_key(lease, CKO_PRIVATE_KEY, key_.id));
  EXPECT_NE(copy, original);
  EXPECT_FALSE(expect_ok(lease.session().bool_attribute(copy, CKA_TOKEN)));
  EXPECT_TRUE(expect_ok(lease.session().bool_attribute(copy, CKA_SENSITIVE)));
  EXPECT_FALSE(expect_ok(lease.session().bool_attribute(copy, CKA_EXTRACTABLE)));
  EXPECT_EQ(expect_ok(lease.signing_key(key_.id)), copy);  // made once per session
}

}  // namespace
}  // namespace medledger::hsm::testing
