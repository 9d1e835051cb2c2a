#include <gtest/gtest.h>

#include <algorithm>

#include "hsm_test_support.h"

namespace medledger::hsm::testing {
namespace {

using core::ErrorCode;

TEST_F(TokenTest, InitTokenCreatesAnInitialisedTokenWithAUserPin) {
  EXPECT_EQ(token_.label, kLabel);
  EXPECT_TRUE(token_.initialized);
  EXPECT_NE(token_.flags & CKF_USER_PIN_INITIALIZED, 0u);
  EXPECT_FALSE(token_.serial.empty());
  auto tokens = expect_ok(list_tokens(*module_));
  auto ours = std::count_if(tokens.begin(), tokens.end(),
                            [](const TokenInfo& t) { return t.label == kLabel; });
  EXPECT_EQ(ours, 1);
  // SoftHSM2 always offers one more free slot after an init.
  EXPECT_TRUE(
      std::any_of(tokens.begin(), tokens.end(), [](const TokenInfo& t) { return !t.initialized; }));
}

TEST_F(TokenTest, InitTokenWithATakenLabelIsAlreadyExists) {
  auto again = init_token(*module_, kLabel, secret(kSoPin), secret(kUserPin));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(TokenTest, TokenIsFoundByLabelSerialAndUriButNeverBySlot) {
  EXPECT_EQ(expect_ok(find_token(*module_, TokenSelector::by_label(kLabel))).serial, token_.serial);
  EXPECT_EQ(expect_ok(find_token(*module_, expect_ok(TokenSelector::parse(token_.serial)))).label,
            kLabel);
  auto uri =
      expect_ok(TokenSelector::parse("pkcs11:token=medledger%2dtest;serial=" + token_.serial));
  EXPECT_EQ(expect_ok(find_token(*module_, uri)).serial, token_.serial);
  auto slot_as_name =
      find_token(*module_, expect_ok(TokenSelector::parse(std::to_string(token_.slot))));
  if (std::to_string(token_.slot) != token_.serial) {
    ASSERT_FALSE(slot_as_name);
    EXPECT_EQ(slot_as_name.error().code, ErrorCode::kTokenNotFound);
  }
}

TEST_F(TokenTest, MissingTokenIsTokenNotFoundAndListsTheLabelsSeen) {
  auto missing = find_token(*module_, TokenSelector::by_label("no-such-token"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kTokenNotFound);
  EXPECT_NE(missing.error().message.find("'medledger-test'"), std::string::npos)
      << missing.error().message;
  auto pool =
      SessionPool::open(module_, TokenSelector::by_label("no-such-token"), secret(kUserPin));
  ASSERT_FALSE(pool);
  EXPECT_EQ(pool.error().code, ErrorCode::kTokenNotFound);
}

TEST_F(TokenTest, TwoTokensMatchingOneSelectorAreAmbiguous) {
  expect_ok(init_token(*module_, "second", secret(kSoPin), secret(kUserPin)));
  auto both = find_token(*module_, expect_ok(TokenSelector::parse("pkcs11:model=SoftHSM%20v2")));
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().code, ErrorCode::kTokenAmbiguous);
}

TEST_F(TokenTest, StatusReportsMechanismsAndObjectCounts) {
  auto without_pin = expect_ok(token_status(*module_, TokenSelector::by_label(kLabel), nullptr));
  EXPECT_FALSE(without_pin.objects_counted);
  EXPECT_TRUE(without_pin.missing_required.empty());
  EXPECT_FALSE(without_pin.mechanisms.empty());
  EXPECT_TRUE(std::find(without_pin.mechanisms.begin(), without_pin.mechanisms.end(), CKM_ECDSA) !=
              without_pin.mechanisms.end());

  auto pin = secret(kUserPin);
  auto with_pin = expect_ok(token_status(*module_, TokenSelector::by_label(kLabel), &pin));
  EXPECT_TRUE(with_pin.objects_counted);
  EXPECT_EQ(with_pin.private_keys, 0u);
  EXPECT_EQ(with_pin.public_keys, 0u);
  EXPECT_EQ(with_pin.secret_keys, 0u);
}

TEST(MechanismName, StandardMechanismsHaveTheirNamesOthersTheirValue) {
  EXPECT_EQ(mechanism_name(CKM_ECDSA), "CKM_ECDSA");
  EXPECT_EQ(mechanism_name(CKM_EC_KEY_PAIR_GEN), "CKM_EC_KEY_PAIR_GEN");  // not its old alias
  EXPECT_EQ(mechanism_name(CKM_RSA_PKCS_OAEP), "CKM_RSA_PKCS_OAEP");
  EXPECT_EQ(mechanism_name(CKM_SHA512_HMAC), "CKM_SHA512_HMAC");
  EXPECT_EQ(mechanism_name(CKM_AES_CMAC), "CKM_AES_CMAC");
  EXPECT_EQ(mechanism_name(CKM_DES3_CBC_PAD), "CKM_DES3_CBC_PAD");
  EXPECT_EQ(mechanism_name(CKM_RSA_PKCS_KEY_PAIR_GEN), "CKM_RSA_PKCS_KEY_PAIR_GEN");  // value 0
  EXPECT_EQ(mechanism_name(0x7fffUL), "CKM_0x7fff");
  EXPECT_EQ(mechanism_name(CKM_VENDOR_DEFINED + 0x11), "CKM_VENDOR_DEFINED+0x11");
}

TEST_F(TokenTest, EveryMechanismSoftHsmOffersHasAStandardName) {
  auto status = expect_ok(token_status(*module_, TokenSelector::by_label(kLabel), nullptr));
  ASSERT_FALSE(status.mechanisms.empty());
  for (auto m : status.mechanisms)
    EXPECT_EQ(mechanism_name(m).rfind("CKM_0x", 0), std::string::npos) << m;
}

TEST_F(TokenTest, StatusWithAWrongPinIsPinIncorrect) {
  auto wrong = secret("not-the-pin");
  auto status = token_status(*module_, TokenSelector::by_label(kLabel), &wrong);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kPinIncorrect);
}

TEST_F(TokenTest, WrongUserPinIsPinIncorrectNamingTheCallAndNeverThePin) {
  auto pool = SessionPool::open(module_, TokenSelector::by_label(kLabel), secret("wrong-pin-9999"));
  ASSERT_FALSE(pool);
  EXPECT_EQ(pool.error().code, ErrorCode::kPinIncorrect);
  EXPECT_NE(pool.error().message.find("C_Login: CKR_PIN_INCORRECT"), std::string::npos)
      << pool.error().message;
  EXPECT_EQ(pool.error().message.find("wrong-pin-9999"), std::string::npos);
}

// SoftHSM2 2.6 counts no failed logins: it never returns CKR_PIN_LOCKED, so the
// lockout path is covered by the CKR mapping test (CKR_PIN_LOCKED -> PIN_LOCKED)
// and by the fault-injecting module. This test pins down what SoftHSM does, so a
// SoftHSM that starts locking would be noticed (and docs/hsm.md updated).
TEST_F(TokenTest, SoftHsmKeepsRejectingWrongPinsWithoutLockingTheRightOne) {
  constexpr int kAttempts = 12;  // beyond any usual retry counter (3..10)
  for (int i = 0; i < kAttempts; ++i) {
    auto pool = SessionPool::open(module_, TokenSelector::by_label(kLabel), secret("wrong"));
    ASSERT_FALSE(pool);
    ASSERT_EQ(pool.error().code, ErrorCode::kPinIncorrect) << "attempt " << i;
  }
  EXPECT_TRUE(SessionPool::open(module_, TokenSelector::by_label(kLabel), secret(kUserPin)));
}

TEST_F(TokenTest, WrongSoPinFailsInitPinAndKekCreation) {
  auto kek = create_kek(*module_, TokenSelector::by_label(kLabel), secret("bad-so-pin"));
  ASSERT_FALSE(kek);
  EXPECT_EQ(kek.error().code, ErrorCode::kPinIncorrect);
}

TEST_F(TokenTest, ShortUserPinIsPinInvalid) {
  auto bad = init_token(*module_, "short-pin", secret(kSoPin), secret("1"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kPinInvalid) << bad.error().to_string();
}

TEST(ModuleLoad, MissingModuleFileIsModuleLoadFailed) {
  auto module = Module::load("/nonexistent/libpkcs11.so");
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().code, ErrorCode::kModuleLoadFailed);
  EXPECT_NE(module.error().message.find("does not exist"), std::string::npos);
}

TEST(ModuleLoad, LibraryWithoutCGetFunctionListIsModuleLoadFailed) {
  auto module = Module::load("/lib/x86_64-linux-gnu/libc.so.6");
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().code, ErrorCode::kModuleLoadFailed);
  EXPECT_NE(module.error().message.find("not a PKCS#11 module"), std::string::npos);
}

TEST(ModuleLoad, AFileThatIsNotASharedLibraryIsModuleLoadFailed) {
  medledger::testing::SoftHsmDirectory dir;
  auto module = Module::load(dir.conf_path().string());
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().code, ErrorCode::kModuleLoadFailed);
}

TEST(ModuleLoad, ModulePathComesFromTheOptionThenTheEnvironmentThenTheDefault) {
  ::unsetenv("MEDLEDGER_PKCS11_MODULE");
  EXPECT_EQ(resolve_module_path(""), kDefaultModulePath);
  ::setenv("MEDLEDGER_PKCS11_MODULE", "/from/env.so", 1);
  EXPECT_EQ(resolve_module_path(""), "/from/env.so");
  EXPECT_EQ(resolve_module_path("/from/option.so"), "/from/option.so");
}

}  // namespace
}  // namespace medledger::hsm::testing
