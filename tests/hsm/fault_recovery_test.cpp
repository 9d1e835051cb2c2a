// Recovery from token faults, through the real hsm API, with SoftHSM2 behind the
// fault-injecting module (tests/fault_pkcs11). Issue 2's rules:
//   CKR_SESSION_*            -> drop that session, retry once;
//   CKR_DEVICE_ERROR, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_USER_NOT_LOGGED_IN
//                            -> re-initialise / re-login, retry once, then a clear error;
//   every error names its CKR_ value and the call that returned it.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <string>

#include "fault_control.h"
#include "hsm_test_support.h"
#include "medledger/core/sha256.h"
#include "medledger/core/signer.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/hsm/token.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/hsm/wrapped_key.h"

namespace medledger::hsm {
namespace {

using core::ErrorCode;
using testing::expect_ok;
using testing::kLabel;
using testing::kSoPin;
using testing::kUserPin;
using testing::secret;

// The control functions of the fault module the hsm code loaded (same path, so the
// dynamic loader hands us the same instance).
struct FaultControl {
  void* handle = nullptr;
  medledger_fault_inject_fn inject = nullptr;
  medledger_fault_set_device_removed_fn set_device_removed = nullptr;
  medledger_fault_clear_fn clear = nullptr;
  medledger_fault_count_fn calls = nullptr;
  medledger_fault_count_fn injected = nullptr;
};

class FaultRecovery : public ::testing::Test {
 protected:
  void SetUp() override {
    softhsm_.init_token_with_softhsm_util(kLabel, kSoPin, kUserPin);
    fault_.handle = ::dlopen(MEDLEDGER_FAULT_MODULE, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(fault_.handle, nullptr) << ::dlerror();
    fault_.inject = reinterpret_cast<medledger_fault_inject_fn>(
        ::dlsym(fault_.handle, "medledger_fault_inject"));
    fault_.set_device_removed = reinterpret_cast<medledger_fault_set_device_removed_fn>(
        ::dlsym(fault_.handle, "medledger_fault_set_device_removed"));
    fault_.clear =
        reinterpret_cast<medledger_fault_clear_fn>(::dlsym(fault_.handle, "medledger_fault_clear"));
    fault_.calls =
        reinterpret_cast<medledger_fault_count_fn>(::dlsym(fault_.handle, "medledger_fault_calls"));
    fault_.injected = reinterpret_cast<medledger_fault_count_fn>(
        ::dlsym(fault_.handle, "medledger_fault_injected"));
    ASSERT_TRUE(fault_.inject && fault_.set_device_removed && fault_.clear && fault_.calls &&
                fault_.injected);

    module_ = expect_ok(Module::load(MEDLEDGER_FAULT_MODULE));
    // The KEK needs an SO login, which the token refuses once the pool's user is logged in.
    kek_id_ = expect_ok(create_kek(*module_, TokenSelector::by_label(kLabel), secret(kSoPin)));
    pool_ =
        expect_ok(SessionPool::open(module_, TokenSelector::by_label(kLabel), secret(kUserPin)));
    keys_ = std::make_unique<KeyStore>(pool_);
  }

  void TearDown() override {
    if (fault_.clear != nullptr) fault_.clear();
  }

  std::unique_ptr<TokenSigner> make_signer(const std::string& label) {
    auto key = keys_->generate(KeySpec{label, core::KeyAlgorithm::kEcdsaP256});
    EXPECT_TRUE(key) << key.error().to_string();
    if (!key) return nullptr;
    auto signer = keys_->signer(key->id);
    EXPECT_TRUE(signer) << signer.error().to_string();
    return signer ? std::move(*signer) : nullptr;
  }

  // Signs and checks the signature in software (OpenSSL).
  void expect_signs_and_verifies(core::Signer& signer, std::string_view message) {
    const core::Digest digest = core::sha256(core::to_bytes(message));
    auto signature = signer.sign_digest(digest);
    ASSERT_TRUE(signature) << signature.error().to_string();
    auto verified = core::verify_digest_signature(signer.public_key_spki(), digest, *signature);
    EXPECT_TRUE(verified) << verified.error().to_string();
  }

  unsigned long calls(const char* function) const { return fault_.calls(function); }

  medledger::testing::SoftHsmDirectory softhsm_;
  FaultControl fault_;
  std::shared_ptr<Module> module_;
  std::shared_ptr<SessionPool> pool_;
  std::unique_ptr<KeyStore> keys_;
  core::Bytes kek_id_;
};

// "(C_Xxx: CKR_YYY)": the call and the return value, as token_error writes them.
bool names_call_and_ckr(const std::string& message, const std::string& ckr) {
  return std::regex_search(message, std::regex("C_[A-Za-z]+: " + ckr));
}

TEST_F(FaultRecovery, SessionHandleInvalidOnSignDropsTheSessionAndTheRetrySucceeds) {
  auto signer = make_signer("session-fault");
  ASSERT_NE(signer, nullptr);
  const auto sign_before = calls("C_Sign");
  const auto open_before = calls("C_OpenSession");
  const auto init_before = calls("C_Initialize");
  const unsigned long injected_before = fault_.injected("C_Sign");
  ASSERT_EQ(fault_.inject("C_Sign", CKR_SESSION_HANDLE_INVALID, 1, 0), 0);

  expect_signs_and_verifies(*signer, "after a lost session");

  EXPECT_EQ(fault_.injected("C_Sign") - injected_before, 1u);
  EXPECT_EQ(calls("C_Sign") - sign_before, 2u) << "exactly one retry";
  EXPECT_GE(calls("C_OpenSession") - open_before, 1u) << "the failed session must not be reused";
  EXPECT_EQ(calls("C_Initialize"), init_before) << "a session fault needs no re-initialisation";
  EXPECT_EQ(module_->generation(), 0u);
}

TEST_F(FaultRecovery, SessionHandleInvalidOnSignWithAnIdleSecondSessionRetriesOnIt) {
  auto signer = make_signer("two-sessions");
  ASSERT_NE(signer, nullptr);
  expect_signs_and_verifies(*signer, "warm the key handle cache");
  {  // two leases at once: the pool now keeps two sessions
    auto first = pool_->acquire();
    auto second = pool_->acquire();
    ASSERT_TRUE(first && second);
  }
  ASSERT_EQ(pool_->open_sessions(), 2u);
  const auto sign_before = calls("C_Sign");
  ASSERT_EQ(fault_.inject("C_Sign", CKR_SESSION_HANDLE_INVALID, 1, 0), 0);

  expect_signs_and_verifies(*signer, "on the other session");

  EXPECT_EQ(calls("C_Sign") - sign_before, 2u);
  EXPECT_EQ(pool_->open_sessions(), 1u) << "the failed session was dropped";
}

TEST_F(FaultRecovery, DeviceErrorOnceReinitialisesLogsInAgainAndTheRetrySucceeds) {
  auto signer = make_signer("device-error");
  ASSERT_NE(signer, nullptr);
  const auto init_before = calls("C_Initialize");
  const auto login_before = calls("C_Login");
  const auto sign_before = calls("C_Sign");
  ASSERT_EQ(fault_.inject("C_Sign", CKR_DEVICE_ERROR, 1, 0), 0);

  expect_signs_and_verifies(*signer, "after a device error");

  EXPECT_EQ(calls("C_Sign") - sign_before, 2u) << "exactly one retry";
  EXPECT_EQ(calls("C_Initialize") - init_before, 1u) << "the module is re-initialised once";
  EXPECT_GE(calls("C_Login") - login_before, 1u) << "C_Finalize logged the user out: log in again";
  EXPECT_EQ(module_->generation(), 1u);
  // Handles cached before the re-initialisation are stale: later signs still work.
  expect_signs_and_verifies(*signer, "the next one");
}

TEST_F(FaultRecovery, DeviceErrorTwiceIsTokenUnavailableAfterExactlyOneRetry) {
  auto signer = make_signer("device-error-twice");
  ASSERT_NE(signer, nullptr);
  const auto sign_before = calls("C_Sign");
  ASSERT_EQ(fault_.inject("C_Sign", CKR_DEVICE_ERROR, 2, 0), 0);

  auto signature = signer->sign_digest(core::sha256(core::to_bytes("twice")));

  ASSERT_FALSE(signature);
  EXPECT_EQ(signature.error().code, ErrorCode::kTokenUnavailable) << signature.error().to_string();
  EXPECT_TRUE(names_call_and_ckr(signature.error().message, "CKR_DEVICE_ERROR"))
      << signature.error().message;
  EXPECT_EQ(calls("C_Sign") - sign_before, 2u) << "one retry, not more";
}

TEST_F(FaultRecovery,
       PersistentDeviceRemovedIsTokenUnavailableNamingTheCallAndRecoversWhenCleared) {
  auto signer = make_signer("removed");
  ASSERT_NE(signer, nullptr);
  fault_.set_device_removed(1);

  auto signature = signer->sign_digest(core::sha256(core::to_bytes("while removed")));

  ASSERT_FALSE(signature);
  EXPECT_EQ(signature.error().code, ErrorCode::kTokenUnavailable) << signature.error().to_string();
  EXPECT_TRUE(names_call_and_ckr(signature.error().message, "CKR_DEVICE_REMOVED"))
      << signature.error().message;
  EXPECT_EQ(signature.error().message.find(kUserPin), std::string::npos)
      << "never the PIN in a message";

  // The device comes back: the same pool and signer work again, no restart.
  fault_.clear();
  expect_signs_and_verifies(*signer, "after the device came back");
}

TEST_F(FaultRecovery, UserNotLoggedInOnSignLogsInAgainAndTheRetrySucceeds) {
  auto signer = make_signer("logged-out");
  ASSERT_NE(signer, nullptr);
  const auto login_before = calls("C_Login");
  const auto sign_before = calls("C_Sign");
  ASSERT_EQ(fault_.inject("C_Sign", CKR_USER_NOT_LOGGED_IN, 1, 0), 0);

  expect_signs_and_verifies(*signer, "after a logout");

  EXPECT_EQ(calls("C_Sign") - sign_before, 2u);
  EXPECT_GE(calls("C_Login") - login_before, 1u);
}

TEST_F(FaultRecovery, TokenNotPresentOnSignInitRecoversWithOneRetry) {
  auto signer = make_signer("not-present");
  ASSERT_NE(signer, nullptr);
  const unsigned long injected_before = fault_.injected("C_SignInit");
  ASSERT_EQ(fault_.inject("C_SignInit", CKR_TOKEN_NOT_PRESENT, 1, 0), 0);

  expect_signs_and_verifies(*signer, "after the token came back");

  EXPECT_EQ(fault_.injected("C_SignInit") - injected_before, 1u);
  EXPECT_EQ(module_->generation(), 1u);
}

TEST_F(FaultRecovery, GenerateKeyPairFailureIsReportedWithItsCkrNameAndLeavesNoKey) {
  ASSERT_EQ(fault_.inject("C_GenerateKeyPair", CKR_FUNCTION_FAILED, 1, 0), 0);

  auto key = keys_->generate(KeySpec{"no-room", core::KeyAlgorithm::kEcdsaP256});

  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, ErrorCode::kTokenError) << key.error().to_string();
  EXPECT_NE(key.error().message.find("C_GenerateKeyPair: CKR_FUNCTION_FAILED"), std::string::npos)
      << key.error().message;
  auto listed = keys_->list();
  ASSERT_TRUE(listed) << listed.error().to_string();
  EXPECT_TRUE(listed->empty());
  // The label was not taken by a half-made key.
  auto again = keys_->generate(KeySpec{"no-room", core::KeyAlgorithm::kEcdsaP256});
  EXPECT_TRUE(again) << again.error().to_string();
}

TEST_F(FaultRecovery, GenerateKeyPairDeviceErrorOnceIsRetriedAndMakesExactlyOneKey) {
  const unsigned long injected_before = fault_.injected("C_GenerateKeyPair");
  ASSERT_EQ(fault_.inject("C_GenerateKeyPair", CKR_DEVICE_ERROR, 1, 0), 0);

  auto key = keys_->generate(KeySpec{"retried", core::KeyAlgorithm::kEcdsaP256});

  ASSERT_TRUE(key) << key.error().to_string();
  EXPECT_EQ(fault_.injected("C_GenerateKeyPair") - injected_before, 1u);
  auto listed = keys_->list();
  ASSERT_TRUE(listed) << listed.error().to_string();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, key->id);
}

TEST_F(FaultRecovery, GenerateKeyPairDeviceErrorTwiceIsTokenUnavailableNamingTheCall) {
  ASSERT_EQ(fault_.inject("C_GenerateKeyPair", CKR_DEVICE_ERROR, 2, 0), 0);

  auto key = keys_->generate(KeySpec{"twice", core::KeyAlgorithm::kEcdsaP256});

  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, ErrorCode::kTokenUnavailable) << key.error().to_string();
  EXPECT_NE(key.error().message.find("C_GenerateKeyPair: CKR_DEVICE_ERROR"), std::string::npos)
      << key.error().message;
}

TEST_F(FaultRecovery, FindObjectsInitDeviceErrorWhileLookingUpAKeyRecovers) {
  auto key = keys_->generate(KeySpec{"lookup", core::KeyAlgorithm::kEcdsaP256});
  ASSERT_TRUE(key) << key.error().to_string();
  const unsigned long injected_before = fault_.injected("C_FindObjectsInit");
  ASSERT_EQ(fault_.inject("C_FindObjectsInit", CKR_DEVICE_ERROR, 1, 0), 0);

  auto found = keys_->find_by_id(key->id);

  ASSERT_TRUE(found) << found.error().to_string();
  EXPECT_EQ(found->label, "lookup");
  EXPECT_EQ(fault_.injected("C_FindObjectsInit") - injected_before, 1u);
}

TEST_F(FaultRecovery, WrappedKeySignRecoversFromADeviceErrorOnUnwrap) {
  auto store = WrappedKeyStore::open(pool_, kek_id_);
  ASSERT_TRUE(store) << store.error().to_string();
  auto blob = (*store)->generate(core::KeyAlgorithm::kEcdsaP256);
  ASSERT_TRUE(blob) << blob.error().to_string();
  auto decoded = decode_wrapped_key(*blob);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  const unsigned long injected_before = fault_.injected("C_UnwrapKey");
  ASSERT_EQ(fault_.inject("C_UnwrapKey", CKR_DEVICE_ERROR, 1, 0), 0);

  const core::Digest digest = core::sha256(core::to_bytes("wrapped"));
  auto signature = (*store)->sign_digest(*blob, digest);

  ASSERT_TRUE(signature) << signature.error().to_string();
  EXPECT_TRUE(core::verify_digest_signature(decoded->public_key_spki, digest, *signature));
  EXPECT_EQ(fault_.injected("C_UnwrapKey") - injected_before, 1u);
}

TEST_F(FaultRecovery, UnwrapRejectedByTheTokenIsWrappedKeyInvalidWithItsCkrName) {
  auto store = WrappedKeyStore::open(pool_, kek_id_);
  ASSERT_TRUE(store) << store.error().to_string();
  auto blob = (*store)->generate(core::KeyAlgorithm::kEcdsaP256);
  ASSERT_TRUE(blob) << blob.error().to_string();
  ASSERT_EQ(fault_.inject("C_UnwrapKey", CKR_WRAPPED_KEY_INVALID, 1, 0), 0);

  auto signature = (*store)->sign_digest(*blob, core::sha256(core::to_bytes("bad blob")));

  ASSERT_FALSE(signature);
  EXPECT_EQ(signature.error().code, ErrorCode::kWrappedKeyInvalid) << signature.error().to_string();
  EXPECT_NE(signature.error().message.find("CKR_WRAPPED_KEY_INVALID"), std::string::npos)
      << signature.error().message;
}

// Faults before there is a pool: reported, with the call and the CKR_ name.
class FaultAtStartup : public ::testing::Test {
 protected:
  void SetUp() override {
    fault_ = ::dlopen(MEDLEDGER_FAULT_MODULE, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(fault_, nullptr) << ::dlerror();
    inject_ =
        reinterpret_cast<medledger_fault_inject_fn>(::dlsym(fault_, "medledger_fault_inject"));
    clear_ = reinterpret_cast<medledger_fault_clear_fn>(::dlsym(fault_, "medledger_fault_clear"));
    ASSERT_TRUE(inject_ && clear_);
  }

  // The fault module stays loaded for the whole binary: a fault set here must not reach
  // the next test.
  void TearDown() override {
    if (clear_ != nullptr) clear_();
  }

  // A token, the module loaded, then `function` failing with `rv` `times` times: the
  // pool's open meets the fault.
  core::Result<std::shared_ptr<SessionPool>> open_pool_failing(const char* function, CK_RV rv,
                                                               int times) {
    softhsm_.init_token_with_softhsm_util(kLabel, kSoPin, kUserPin);
    auto module = expect_ok(Module::load(MEDLEDGER_FAULT_MODULE));
    EXPECT_EQ(inject_(function, rv, times, 0), 0);
    return SessionPool::open(module, TokenSelector::by_label(kLabel), secret(kUserPin));
  }

  medledger::testing::SoftHsmDirectory softhsm_;  // first: sets SOFTHSM2_CONF
  void* fault_ = nullptr;
  medledger_fault_inject_fn inject_ = nullptr;
  medledger_fault_clear_fn clear_ = nullptr;
};

TEST_F(FaultAtStartup, FailingCInitializeIsModuleInitFailedNamingTheCall) {
  ASSERT_EQ(inject_("C_Initialize", CKR_GENERAL_ERROR, 1, 0), 0);

  auto module = Module::load(MEDLEDGER_FAULT_MODULE);

  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().code, ErrorCode::kModuleInitFailed);
  EXPECT_NE(module.error().message.find("C_Initialize: CKR_GENERAL_ERROR"), std::string::npos)
      << module.error().message;
}

TEST_F(FaultAtStartup, FailingCGetSlotListIsReportedWhenOpeningThePool) {
  auto pool = open_pool_failing("C_GetSlotList", CKR_FUNCTION_FAILED, -1);

  ASSERT_FALSE(pool);
  EXPECT_NE(pool.error().message.find("C_GetSlotList: CKR_FUNCTION_FAILED"), std::string::npos)
      << pool.error().to_string();
}

TEST_F(FaultAtStartup, FailingCOpenSessionIsReportedWhenOpeningThePool) {
  auto pool = open_pool_failing("C_OpenSession", CKR_SESSION_COUNT, -1);

  ASSERT_FALSE(pool);
  EXPECT_NE(pool.error().message.find("C_OpenSession: CKR_SESSION_COUNT"), std::string::npos)
      << pool.error().to_string();
}

TEST_F(FaultAtStartup, LoginRejectedWithPinLockedIsPinLocked) {
  auto pool = open_pool_failing("C_Login", CKR_PIN_LOCKED, 1);

  ASSERT_FALSE(pool);
  EXPECT_EQ(pool.error().code, ErrorCode::kPinLocked) << pool.error().to_string();
  EXPECT_NE(pool.error().message.find("C_Login: CKR_PIN_LOCKED"), std::string::npos)
      << pool.error().message;
}

}  // namespace
}  // namespace medledger::hsm
