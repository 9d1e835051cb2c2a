// Person PIN verifier: scrypt records, the lockout state machine, and the
// file-backed store with atomic writes.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "medledger/core/sha256.h"
#include "medledger/node/pin_store.h"
#include "medledger/node/pin_verifier.h"
#include "node_test_support.h"

namespace medledger::node::testing {
namespace {

using core::ErrorCode;

const std::string kPin = "493817";
const std::string kWrongPin = "wrong-pin-5150";
constexpr std::int64_t kNow = 1'700'000'000;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class PinVerifierTest : public ::testing::Test {
 protected:
  PinRecord record_ = expect_ok(make_pin_record("doctor-7", secret(kPin)));
};

TEST_F(PinVerifierTest, RightPinIsAcceptedAndWrongPinIsPersonPinIncorrect) {
  auto right = check_pin(record_, secret(kPin), kNow);
  EXPECT_TRUE(right.outcome.ok());
  EXPECT_EQ(right.next.failures, 0u);
  auto wrong = check_pin(record_, secret(kWrongPin), kNow);
  EXPECT_EQ(error_of(wrong.outcome), ErrorCode::kPersonPinIncorrect);
  EXPECT_EQ(wrong.next.failures, 1u);
  EXPECT_EQ(wrong.next.last_failure_unix, kNow);
  EXPECT_EQ(wrong.outcome.error().message.find(kWrongPin), std::string::npos);
  // A PIN that only shares a prefix, or is longer than allowed, is wrong too.
  EXPECT_EQ(error_of(check_pin(record_, secret(kPin + "0"), kNow).outcome),
            ErrorCode::kPersonPinIncorrect);
  EXPECT_EQ(error_of(check_pin(record_, secret(std::string(kMaxPinBytes + 1, '4')), kNow).outcome),
            ErrorCode::kPersonPinIncorrect);
}

TEST_F(PinVerifierTest, RecordHoldsSaltAndHashButNeverThePin) {
  const std::string text = record_.to_json_text();
  EXPECT_EQ(text.find(kPin), std::string::npos);
  EXPECT_EQ(text.find(core::base64url_encode(core::to_bytes(kPin))), std::string::npos);
  EXPECT_EQ(record_.salt.size(), kPinSaltSize);
  EXPECT_EQ(record_.hash.size(), kPinHashSize);
  EXPECT_EQ(record_.params.log2_n, kDefaultScryptLogN);
  auto same_pin = expect_ok(make_pin_record("doctor-8", secret(kPin)));
  EXPECT_NE(same_pin.salt, record_.salt);
  EXPECT_NE(same_pin.hash, record_.hash);  // salted: one PIN, two hashes
  auto parsed = expect_ok(PinRecord::from_json_text(text));
  EXPECT_EQ(parsed.to_json_text(), text);
  EXPECT_TRUE(check_pin(parsed, secret(kPin), kNow).outcome.ok());
}

TEST_F(PinVerifierTest, LockedAfterMaxFailuresAndRightPinRefusedWhileLocked) {
  PinPolicy no_backoff{kDefaultMaxPinFailures, false};
  PinRecord record = record_;
  for (std::uint32_t i = 1; i <= kDefaultMaxPinFailures; ++i) {
    auto attempt = check_pin(record, secret(kWrongPin), kNow, no_backoff);
    EXPECT_EQ(error_of(attempt.outcome), ErrorCode::kPersonPinIncorrect) << "attempt " << i;
    record = std::move(attempt.next);
    EXPECT_EQ(record.failures, i);
    EXPECT_EQ(record.state, i == kDefaultMaxPinFailures ? PinState::kLocked : PinState::kActive);
  }
  auto right = check_pin(record, secret(kPin), kNow + 100000, no_backoff);
  EXPECT_EQ(error_of(right.outcome), ErrorCode::kPersonLocked);
  EXPECT_EQ(right.next.state, PinState::kLocked);

  auto reset = expect_ok(reset_pin(record, secret("2468")));
  EXPECT_EQ(reset.state, PinState::kActive);
  EXPECT_EQ(reset.failures, 0u);
  EXPECT_TRUE(check_pin(reset, secret("2468"), kNow).outcome.ok());
  EXPECT_EQ(error_of(check_pin(reset, secret(kPin), kNow).outcome), ErrorCode::kPersonPinIncorrect);
}

TEST_F(PinVerifierTest, RightPinClearsEarlierFailures) {
  PinPolicy no_backoff{kDefaultMaxPinFailures, false};
  auto once = check_pin(record_, secret(kWrongPin), kNow, no_backoff);
  auto twice = check_pin(once.next, secret(kWrongPin), kNow, no_backoff);
  auto right = check_pin(twice.next, secret(kPin), kNow, no_backoff);
  EXPECT_TRUE(right.outcome.ok());
  EXPECT_EQ(right.next.failures, 0u);
  EXPECT_EQ(right.next.last_failure_unix, 0);
}

TEST_F(PinVerifierTest, BackoffRefusesEvenTheRightPinUntilTheDelayHasPassed) {
  PinRecord record = record_;
  for (std::uint32_t i = 0; i < kPinBackoffAfterFailures; ++i) {
    record = check_pin(record, secret(kWrongPin), kNow).next;
  }
  // 2 failures: the next try must wait 2^0 = 1 s.
  auto early = check_pin(record, secret(kPin), kNow);
  EXPECT_EQ(error_of(early.outcome), ErrorCode::kPersonLocked);
  EXPECT_EQ(early.next.failures, record.failures) << "a refused early try is not counted";
  auto third = check_pin(record, secret(kWrongPin), kNow + 1);
  EXPECT_EQ(error_of(third.outcome), ErrorCode::kPersonPinIncorrect);
  // 3 failures: wait 2 s after the last one.
  EXPECT_EQ(error_of(check_pin(third.next, secret(kPin), kNow + 2).outcome),
            ErrorCode::kPersonLocked);
  EXPECT_TRUE(check_pin(third.next, secret(kPin), kNow + 3).outcome.ok());
}

TEST_F(PinVerifierTest, PolicyCannotRaiseMaxFailuresPastTheCeiling) {
  PinPolicy lax{1000, false};
  PinRecord record = record_;
  for (std::uint32_t i = 0; i < kMaxPinFailuresCeiling; ++i)
    record = check_pin(record, secret(kWrongPin), kNow, lax).next;
  EXPECT_EQ(record.state, PinState::kLocked);
}

TEST_F(PinVerifierTest, BadPinsIdsAndParametersAreInvalidArgument) {
  auto too_short = make_pin_record("doctor-9", secret("123"));
  EXPECT_EQ(error_of(too_short), ErrorCode::kInvalidArgument);
  EXPECT_EQ(too_short.error().message.find("123"), std::string::npos);
  EXPECT_EQ(error_of(make_pin_record("doctor-9", secret(std::string(kMaxPinBytes + 1, '1')))),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(make_pin_record("", secret(kPin))), ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      error_of(make_pin_record("doctor-9", secret(kPin), ScryptParams{kMinScryptLogN - 1, 8, 1})),
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(make_pin_record("doctor-9", secret(kPin), ScryptParams{20, 32, 1})),  // 4 GiB
            ErrorCode::kInvalidArgument);
}

TEST_F(PinVerifierTest, DamagedRecordTextIsMalformedEncoding) {
  std::string text = record_.to_json_text();
  EXPECT_EQ(error_of(PinRecord::from_json_text(text.substr(0, text.size() - 1))),
            ErrorCode::kMalformedEncoding);
  std::string weak = text;
  weak.replace(weak.find("\"log2_n\":15"), 11, "\"log2_n\":10");
  EXPECT_EQ(error_of(PinRecord::from_json_text(weak)), ErrorCode::kMalformedEncoding);
  std::string bad_state = text;
  bad_state.replace(bad_state.find("\"active\""), 8, "\"open\"");
  EXPECT_EQ(error_of(PinRecord::from_json_text(bad_state)), ErrorCode::kMalformedEncoding);
}

class PinStoreTest : public ::testing::Test {
 protected:
  medledger::testing::SoftHsmDirectory dir_;  // a private temporary directory
  std::filesystem::path pins_ = dir_.root() / "pins";
};

TEST_F(PinStoreTest, EnrolVerifyLockResetThroughFiles) {
  auto store = expect_ok(PinStore::open(pins_, PinPolicy{3, false}));
  expect_ok(store->enrol("patient-42", secret(kPin)));
  EXPECT_EQ(error_of(store->enrol("patient-42", secret(kPin))), ErrorCode::kAlreadyExists);
  expect_ok(store->verify("patient-42", secret(kPin), kNow));
  EXPECT_EQ(error_of(store->verify("patient-42", secret(kWrongPin), kNow)),
            ErrorCode::kPersonPinIncorrect);
  EXPECT_EQ(expect_ok(store->get("patient-42")).failures, 1u);

  // A second store on the same directory (another process) sees the failure count.
  auto other = expect_ok(PinStore::open(pins_, PinPolicy{3, false}));
  EXPECT_EQ(error_of(other->verify("patient-42", secret(kWrongPin), kNow)),
            ErrorCode::kPersonPinIncorrect);
  EXPECT_EQ(error_of(store->verify("patient-42", secret(kWrongPin), kNow)),
            ErrorCode::kPersonPinIncorrect);
  EXPECT_EQ(error_of(store->verify("patient-42", secret(kPin), kNow)), ErrorCode::kPersonLocked);
  EXPECT_EQ(expect_ok(other->get("patient-42")).state, PinState::kLocked);

  expect_ok(store->reset("patient-42", secret("13579")));
  expect_ok(other->verify("patient-42", secret("13579"), kNow));
  EXPECT_EQ(error_of(store->verify("nobody", secret(kPin), kNow)), ErrorCode::kNotFound);
}

TEST_F(PinStoreTest, FilesArePrivateHoldNoPinAndLeaveNoTempFiles) {
  auto store = expect_ok(PinStore::open(pins_));
  expect_ok(store->enrol("doctor-7", secret(kPin)));
  EXPECT_EQ(error_of(store->verify("doctor-7", secret(kWrongPin), kNow)),
            ErrorCode::kPersonPinIncorrect);
  const auto path = store->path_for("doctor-7");
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(pins_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  for (const auto& entry : std::filesystem::directory_iterator(pins_)) {
    const std::string text = read_file(entry.path());
    EXPECT_EQ(text.find(kPin), std::string::npos) << entry.path();
    EXPECT_EQ(text.find(kWrongPin), std::string::npos) << entry.path();
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST_F(PinStoreTest, RecordOfAnotherPersonUnderThisNameIsRefused) {
  auto store = expect_ok(PinStore::open(pins_));
  expect_ok(store->enrol("doctor-7", secret(kPin)));
  expect_ok(store->enrol("doctor-8", secret("8642")));
  std::filesystem::copy_file(store->path_for("doctor-8"), store->path_for("doctor-7"),
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_EQ(error_of(store->verify("doctor-7", secret("8642"), kNow)),
            ErrorCode::kMalformedEncoding);
}

}  // namespace
}  // namespace medledger::node::testing
