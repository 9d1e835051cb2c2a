#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "hsm_test_support.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/token_signer.h"

namespace medledger::hsm::testing {
namespace {

using core::ErrorCode;

TEST_F(TokenTest, InitTokenCreatesAnInitialisedTokenWithAUserPin) {
  MEDLEDGER_SKIP_WITHOUT_TOKEN_INIT();
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
  MEDLEDGER_SKIP_WITHOUT_TOKEN_INIT();
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
  MEDLEDGER_SKIP_WITHOUT_TOKEN_INIT();
  expect_ok(init_token(*module_, "second", secret(kSoPin), secret(kUserPin)));
  auto both = find_token(*module_, expect_ok(TokenSelector::parse("pkcs11:model=SoftHSM%20v2")));
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().code, ErrorCode::kTokenAmbiguous);
  // The message lists the candidates so the user can tell them apart.
  EXPECT_NE(both.error().message.find("'second'"), std::string::npos) << both.error().message;
  EXPECT_NE(both.error().message.find("'medledger-test'"), std::string::npos)
      << both.error().message;
  EXPECT_NE(both.error().message.find("pkcs11:token="), std::string::npos) << both.error().message;
}

TEST_F(TokenTest, StatusReportsMechanismsAndObjectCounts) {
  auto without_pin = expect_ok(token_status(*module_, TokenSelector::by_label(kLabel), nullptr));
  EXPECT_FALSE(without_pin.objects_counted);
  ASSERT_EQ(without_pin.capabilities.size(), std::size(kAllCapabilities));
  for (const auto& c : without_pin.capabilities) {
    // SoftHSM2 2.6 has every mechanism medledger can use; NSS's softoken lacks Ed25519.
    const bool ed25519_on_nss = c.capability == Capability::kEd25519 &&
                                without_pin.token.manufacturer == "Mozilla Foundation";
    EXPECT_EQ(c.missing.empty(), !ed25519_on_nss) << capability_name(c.capability);
  }
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
  MEDLEDGER_SKIP_WITHOUT_TOKEN_INIT();
  auto kek = create_kek(*module_, TokenSelector::by_label(kLabel), secret("bad-so-pin"));
  ASSERT_FALSE(kek);
  EXPECT_EQ(kek.error().code, ErrorCode::kPinIncorrect);
}

TEST_F(TokenTest, ShortUserPinIsPinInvalid) {
  MEDLEDGER_SKIP_WITHOUT_TOKEN_INIT();
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

TEST(ModuleLoad, ModuleArgumentsOverTheLimitOrWithANulAreInvalidArgument) {
  auto too_long = Module::load(medledger::testing::SoftHsmDirectory::module_path(),
                               secret(std::string(kMaxModuleArgs + 1, 'a')));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, ErrorCode::kInvalidArgument);
  auto with_nul = Module::load(medledger::testing::SoftHsmDirectory::module_path(),
                               secret(std::string("configdir='x'\0password=hunter2", 30)));
  ASSERT_FALSE(with_nul);
  EXPECT_EQ(with_nul.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(with_nul.error().message.find("hunter2"), std::string::npos);
}

// NSS's software token (libsoftokn3.so, the module inside Firefox) takes its database
// settings as CK_C_INITIALIZE_ARGS.pReserved and refuses to start without them.
class NssModuleArgs : public ::testing::Test {
 protected:
  static constexpr const char* kNssModule = "/usr/lib/x86_64-linux-gnu/libsoftokn3.so";
  void SetUp() override {
    ::unsetenv("MEDLEDGER_PKCS11_MODULE_ARGS");
    db_ = dir_.root() / "nssdb";
    std::filesystem::create_directories(db_);
    auto pw = dir_.write_private_file("nss.pw", std::string(kUserPin) + "\n");
    // certutil (libnss3-tools) makes the database and sets its password, our user PIN.
    std::string make = "certutil -N -d 'sql:" + db_.string() + "' -f '" + pw.string() + "' 2>&1";
    ASSERT_EQ(std::system(make.c_str()), 0) << make;
  }
  std::string args(const std::string& extra = "") const {
    return "configdir='sql:" + db_.string() +
           "' certPrefix='' keyPrefix='' secmod='secmod.db' flags= "
           "tokens=<0x02=[configdir='sql:" +
           db_.string() + "' tokenDescription='nss-test']>" + extra;
  }
  medledger::testing::SoftHsmDirectory dir_;
  std::filesystem::path db_;
};

TEST_F(NssModuleArgs, SoftokenLoadsWithItsDatabaseArgumentsAndSignsInItsToken) {
  auto module = expect_ok(Module::load(kNssModule, secret(args())));
  auto token = expect_ok(find_token(*module, TokenSelector::by_label("nss-test")));
  EXPECT_EQ(token.manufacturer, "Mozilla Foundation");
  auto pool =
      expect_ok(SessionPool::open(module, TokenSelector::by_label("nss-test"), secret(kUserPin)));
  KeyStore store(pool);
  auto key = expect_ok(store.generate({"nss-key", core::KeyAlgorithm::kEcdsaP256}));
  auto digest = core::sha256(core::to_bytes("signed in NSS"));
  auto signer = expect_ok(store.signer(key.id));
  expect_ok(core::verify_digest_signature(key.public_key_spki, digest,
                                          expect_ok(signer->sign_digest(digest))));
}

// NSS gives every token serial 0000000000000000: "name one by serial" would not help.
TEST_F(NssModuleArgs, TokensSharingASerialAreAmbiguousAndTheMessageSaysToNameOneByLabel) {
  auto module = expect_ok(
      Module::load(kNssModule, secret("configdir='sql:" + db_.string() +
                                      "' certPrefix='' keyPrefix='' secmod='secmod.db' flags=")));
  auto both = find_token(*module, expect_ok(TokenSelector::parse("0000000000000000")));
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().code, ErrorCode::kTokenAmbiguous);
  EXPECT_NE(both.error().message.find("'NSS Certificate DB' (serial 0000000000000000"),
            std::string::npos)
      << both.error().message;
  EXPECT_NE(both.error().message.find("name one by label"), std::string::npos)
      << both.error().message;
  EXPECT_EQ(both.error().message.find("name one by serial"), std::string::npos);
}

TEST_F(NssModuleArgs, ArgumentsComeFromTheEnvironmentWhenNotGiven) {
  ::setenv("MEDLEDGER_PKCS11_MODULE_ARGS", args().c_str(), 1);
  auto module = expect_ok(Module::load(kNssModule));
  expect_ok(find_token(*module, TokenSelector::by_label("nss-test")));
}

TEST_F(NssModuleArgs, WithoutArgumentsTheSoftokenIsModuleInitFailed) {
  auto module = Module::load(kNssModule);
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().code, ErrorCode::kModuleInitFailed);
  EXPECT_NE(module.error().message.find("CKR_ARGUMENTS_BAD"), std::string::npos)
      << module.error().message;
  EXPECT_NE(module.error().message.find("no initialisation arguments"), std::string::npos);
}

TEST_F(NssModuleArgs, FailingArgumentsAreModuleInitFailedAndNeverEchoed) {
  // A database that does not exist; the arguments carry a password-like value.
  auto module = Module::load(
      kNssModule, secret("configdir='sql:/nonexistent/nssdb' flags=readOnly password='hunter2'"));
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().code, ErrorCode::kModuleInitFailed);
  EXPECT_EQ(module.error().message.find("hunter2"), std::string::npos) << module.error().message;
  EXPECT_EQ(module.error().message.find("nonexistent"), std::string::npos);
  EXPECT_NE(module.error().message.find("not shown"), std::string::npos);
}

#ifdef MEDLEDGER_CLI
// The CLI reads the arguments from a source (they may hold a password), never argv.
TEST_F(NssModuleArgs, CliTakesTheArgumentsFromFileOrEnvNeverAsALiteral) {
  auto run = [](const std::string& command, std::string* output) {
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) *output += buffer;
    int status = ::pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  const std::string cli = std::string(MEDLEDGER_CLI) + " token list --module " + kNssModule;
  ::setenv("NSS_TEST_ARGS", args().c_str(), 1);
  std::string out;
  EXPECT_EQ(run(cli + " --module-args env:NSS_TEST_ARGS", &out), 0) << out;
  EXPECT_NE(out.find("nss-test"), std::string::npos) << out;
  auto file = dir_.write_private_file("nss.args", args() + "\n");
  out.clear();
  EXPECT_EQ(run(cli + " --module-args file:" + file.string(), &out), 0) << out;
  EXPECT_NE(out.find("nss-test"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(run(cli + " --module-args \"configdir='sql:/tmp/x' password=hunter2\"", &out),
            core::exit_code_for(ErrorCode::kInvalidArgument))
      << out;
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(run(cli, &out), core::exit_code_for(ErrorCode::kModuleInitFailed)) << out;
}
#endif

}  // namespace
}  // namespace medledger::hsm::testing
