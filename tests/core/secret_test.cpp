#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "medledger/core/secret_source.h"

using namespace medledger::core;

TEST(SecretBytes, ConstantTimeEqualComparesContentAndLength) {
  SecretBytes a(to_bytes("1234")), b(to_bytes("1234")), c(to_bytes("1235")), d(to_bytes("123"));
  EXPECT_TRUE(constant_time_equal(a.view(), b.view()));
  EXPECT_FALSE(constant_time_equal(a.view(), c.view()));
  EXPECT_FALSE(constant_time_equal(a.view(), d.view()));
}

TEST(SecretBytes, MoveLeavesTheSourceEmpty) {
  SecretBytes a(to_bytes("secret"));
  SecretBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the behaviour under test
  EXPECT_EQ(b.size(), 6u);
  b.wipe();
  EXPECT_TRUE(b.empty());
}

TEST(SecretSource, ParsesFileEnvAndPrompt) {
  auto f = SecretSource::parse("file:/tmp/pin", "user PIN");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, SecretSource::Kind::kFile);
  EXPECT_EQ(f->location, "/tmp/pin");
  auto e = SecretSource::parse("env:MY_PIN", "user PIN");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, SecretSource::Kind::kEnv);
  auto p = SecretSource::parse("prompt", "user PIN");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, SecretSource::Kind::kPrompt);
}

TEST(SecretSource, ALiteralPinIsRejectedWithoutEchoingIt) {
  auto bad = SecretSource::parse("123456", "user PIN");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message.find("123456"), std::string::npos);
}

TEST(SecretSource, FileSecretDropsTrailingNewline) {
  auto path =
      std::filesystem::temp_directory_path() / ("medledger-pin-" + std::to_string(::getpid()));
  { std::ofstream(path) << "4321\n"; }
  auto pin = read_secret({SecretSource::Kind::kFile, path.string()});
  std::filesystem::remove(path);
  ASSERT_TRUE(pin);
  EXPECT_TRUE(constant_time_equal(pin->view(), to_bytes("4321")));
}

TEST(SecretSource, MissingFileAndUnsetVariableAreClearErrors) {
  auto f = read_secret({SecretSource::Kind::kFile, "/nonexistent/pin"});
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, ErrorCode::kSecretUnavailable);
  ::unsetenv("MEDLEDGER_TEST_UNSET_PIN");
  auto e = read_secret({SecretSource::Kind::kEnv, "MEDLEDGER_TEST_UNSET_PIN"});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, ErrorCode::kSecretUnavailable);
}

TEST(SecretSource, EnvSecretIsRead) {
  ::setenv("MEDLEDGER_TEST_PIN", "9876", 1);
  auto pin = read_secret({SecretSource::Kind::kEnv, "MEDLEDGER_TEST_PIN"});
  ASSERT_TRUE(pin);
  EXPECT_TRUE(constant_time_equal(pin->view(), to_bytes("9876")));
}

TEST(SecretSource, EmptyFileIsRejected) {
  auto path =
      std::filesystem::temp_directory_path() / ("medledger-empty-" + std::to_string(::getpid()));
  { std::ofstream(path) << "\n"; }
  auto pin = read_secret({SecretSource::Kind::kFile, path.string()});
  std::filesystem::remove(path);
  ASSERT_FALSE(pin);
  EXPECT_EQ(pin.error().code, ErrorCode::kSecretUnavailable);
}
