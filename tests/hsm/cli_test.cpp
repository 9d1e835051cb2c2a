// The `medledger token|key` commands, run as a user would: the built binary, a
// fresh SoftHSM2 directory (SOFTHSM2_CONF is inherited), PINs from env and files.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <set>

#include "medledger/core/error.h"
#include "softhsm_fixture.h"

namespace {

using medledger::core::ErrorCode;
using medledger::core::exit_code_for;

constexpr const char* kSoPin = "cli-so-pin-4242";
constexpr const char* kUserPin = "cli-user-pin-1717";

struct CommandRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandRun run_command(const std::string& command) {
  CommandRun result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 512> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) result.output += buffer.data();
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    so_pin_file_ = dir_.write_private_file("so.pin", std::string(kSoPin) + "\n").string();
    ::setenv("MEDLEDGER_USER_PIN", kUserPin, 1);
    ::unsetenv("MEDLEDGER_SO_PIN");
    ::setenv("MEDLEDGER_PKCS11_MODULE", medledger::testing::SoftHsmDirectory::module_path().c_str(),
             1);
    if (medledger::testing::SoftHsmDirectory::provisioned_by_hook()) {
      dir_.init_token_with_softhsm_util("clinic", kSoPin, kUserPin);  // no token init there
      return;
    }
    auto init = cli("token init --label clinic --so-pin file:" + so_pin_file_);
    ASSERT_EQ(init.exit_code, 0) << init.output;
  }
  CommandRun cli(const std::string& args) {
    CommandRun r = run_command(std::string(MEDLEDGER_CLI) + " " + args);
    all_output_ += r.output;
    return r;
  }
  medledger::testing::SoftHsmDirectory dir_;
  std::string so_pin_file_;
  std::string all_output_;
};

TEST_F(CliTest, InitGenerateSignAndOpensslVerifyWithPinsFromEnvAndFileNeverPrinted) {
  auto list = cli("token list");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("clinic"), std::string::npos);
  auto status = cli("token status --token clinic");
  ASSERT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("ecdsa-p256 signing: yes"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("wrapped person keys: yes"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("objects: 0 private keys"), std::string::npos) << status.output;
  // Every mechanism SoftHSM2 offers has its standard name, and the session counts
  // SoftHSM2 does not report are named, not printed as numbers.
  EXPECT_EQ(status.output.find("CKM_0x"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find(" CKM_AES_KEY_WRAP_PAD"), std::string::npos) << status.output;
  const bool other_module = medledger::testing::SoftHsmDirectory::provisioned_by_hook();
  if (!other_module) {
    EXPECT_NE(status.output.find("sessions open: not reported (CK_UNAVAILABLE_INFORMATION)"),
              std::string::npos)
        << status.output;
    EXPECT_NE(status.output.find("session limit: none (CK_EFFECTIVELY_INFINITE)"),
              std::string::npos)
        << status.output;
  }

  auto user_pin_file = dir_.write_private_file("user.pin", kUserPin).string();
  auto generate = cli("key generate --token clinic --label dr-house --pin file:" + user_pin_file);
  ASSERT_EQ(generate.exit_code, 0) << generate.output;
  EXPECT_NE(generate.output.find("algorithm: ecdsa-p256"), std::string::npos);
  auto keys = cli("key list --token clinic");
  ASSERT_EQ(keys.exit_code, 0) << keys.output;
  EXPECT_NE(keys.output.find("dr-house"), std::string::npos);

  auto pem = (dir_.root() / "dr-house.pem").string();
  auto exported = cli("key export-public --token clinic --label dr-house --out " + pem);
  ASSERT_EQ(exported.exit_code, 0) << exported.output;

  // SHA-256("hello")
  const std::string digest = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
  auto sign = cli("key sign --token clinic --label dr-house --digest " + digest);
  ASSERT_EQ(sign.exit_code, 0) << sign.output;
  std::string signature_hex = sign.output.substr(0, sign.output.find('\n'));
  auto root = dir_.root().string();
  auto verify = run_command("printf '%s' '" + signature_hex + "' | xxd -r -p > " + root +
                            "/sig.der && printf '%s' '" + digest + "' | xxd -r -p > " + root +
                            "/digest.bin && openssl pkeyutl -verify -pubin -inkey " + pem +
                            " -in " + root + "/digest.bin -sigfile " + root + "/sig.der");
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find("Signature Verified Successfully"), std::string::npos)
      << verify.output;

  if (other_module) {
    // No SO there: the KEK is the user's, and the CLI warns that the token does not
    // enforce CKA_WRAP_WITH_TRUSTED.
    auto kek = cli("key kek create --token clinic --without-so");
    EXPECT_EQ(kek.exit_code, 0) << kek.output;
    EXPECT_NE(kek.output.find("warning: this token does not enforce CKA_WRAP_WITH_TRUSTED"),
              std::string::npos)
        << kek.output;
  } else {
    auto kek = cli("key kek create --token clinic --so-pin file:" + so_pin_file_);
    EXPECT_EQ(kek.exit_code, 0) << kek.output;
    // SoftHSM2 enforces CKA_WRAP_WITH_TRUSTED: a KEK without the SO is refused.
    auto without_so = cli("key kek create --token clinic --label user-kek --without-so");
    EXPECT_EQ(without_so.exit_code, exit_code_for(ErrorCode::kInvalidArgument))
        << without_so.output;
    EXPECT_NE(without_so.output.find("enforces CKA_WRAP_WITH_TRUSTED"), std::string::npos)
        << without_so.output;
  }

  EXPECT_EQ(all_output_.find(kUserPin), std::string::npos);
  EXPECT_EQ(all_output_.find(kSoPin), std::string::npos);
}

TEST_F(CliTest, EachErrorClassHasItsOwnExitCode) {
  auto wrong_pin = cli("key list --token clinic --pin env:WRONG_PIN_FOR_TEST");
  EXPECT_EQ(wrong_pin.exit_code, exit_code_for(ErrorCode::kSecretUnavailable)) << wrong_pin.output;
  ::setenv("WRONG_PIN_FOR_TEST", "not-the-pin", 1);
  auto rejected = cli("key list --token clinic --pin env:WRONG_PIN_FOR_TEST");
  EXPECT_EQ(rejected.exit_code, exit_code_for(ErrorCode::kPinIncorrect)) << rejected.output;
  EXPECT_NE(rejected.output.find("C_Login: CKR_PIN_INCORRECT"), std::string::npos);
  EXPECT_EQ(rejected.output.find("not-the-pin"), std::string::npos);
  auto no_token = cli("key list --token nowhere");
  EXPECT_EQ(no_token.exit_code, exit_code_for(ErrorCode::kTokenNotFound)) << no_token.output;
  auto no_module = cli("token list --module /nonexistent/module.so");
  EXPECT_EQ(no_module.exit_code, exit_code_for(ErrorCode::kModuleLoadFailed)) << no_module.output;
  auto bad_uri = cli("key list --token 'pkcs11:token=%zz'");
  EXPECT_EQ(bad_uri.exit_code, exit_code_for(ErrorCode::kUriInvalid)) << bad_uri.output;
  auto no_key = cli("key sign --token clinic --label nobody --digest " + std::string(64, 'a'));
  EXPECT_EQ(no_key.exit_code, exit_code_for(ErrorCode::kKeyNotFound)) << no_key.output;
  std::set<int> codes = {wrong_pin.exit_code, rejected.exit_code, no_token.exit_code,
                         no_module.exit_code, bad_uri.exit_code,  no_key.exit_code};
  EXPECT_EQ(codes.size(), 6u);
}

TEST_F(CliTest, APinGivenOnTheCommandLineIsNotAcceptedAsASource) {
  auto literal = cli(std::string("key list --token clinic --pin ") + kUserPin);
  EXPECT_NE(literal.exit_code, 0);
  EXPECT_EQ(literal.output.find(kUserPin), std::string::npos) << literal.output;
}

}  // namespace
