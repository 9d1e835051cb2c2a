// Person sessions: the table on its own (with a test clock), then through
// HospitalNode on real SoftHSM2 tokens and a real LMDB ledger.
#include <gtest/gtest.h>

#include <set>

#include "hospital_node_fixture.h"
#include "medledger/core/sha256.h"
#include "medledger/node/person_session.h"

namespace medledger::node::testing {
namespace {

using core::ErrorCode;
using namespace std::chrono_literals;

class SessionTableTest : public ::testing::Test {
 protected:
  std::int64_t now_ms_ = 1'700'000'000'000;
  PersonSessionTable table_{[this] { return now_ms_; }};
};

TEST_F(SessionTableTest, TokenIs256RandomBitsInBase64urlAndEachSessionGetsAFreshOne) {
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    auto session = expect_ok(table_.open("h/dr-1", 60s));
    std::string text(session.token.view().begin(), session.token.view().end());
    EXPECT_EQ(text.size(), 43u);  // 32 bytes, unpadded base64url
    EXPECT_EQ(expect_ok(core::base64url_decode(text)).size(), kSessionTokenBytes);
    EXPECT_TRUE(seen.insert(text).second);
    EXPECT_EQ(session.expires_ms, now_ms_ + 60'000);
    EXPECT_EQ(session.signatures, kMaxSessionSignatures);
  }
}

TEST_F(SessionTableTest, SessionWorksUntilItsExpiryAndNotAfter) {
  auto session = expect_ok(table_.open("h/dr-1", 60s));
  expect_ok(table_.use("h/dr-1", session.token));
  now_ms_ += 59'999;
  expect_ok(table_.use("h/dr-1", session.token));
  now_ms_ += 1;  // the moment valid becomes invalid
  EXPECT_EQ(error_of(table_.use("h/dr-1", session.token)), ErrorCode::kPersonSessionInvalid);
  EXPECT_EQ(table_.size(), 0u);  // dropped
}

TEST_F(SessionTableTest, SessionSignsExactlyItsBudgetThenIsRefused) {
  auto session = expect_ok(table_.open("h/dr-1", kMaxSessionTtl));
  for (std::uint32_t i = 0; i < kMaxSessionSignatures; ++i)
    ASSERT_TRUE(table_.use("h/dr-1", session.token).ok()) << i;
  EXPECT_EQ(error_of(table_.use("h/dr-1", session.token)), ErrorCode::kPersonSessionInvalid);
}

TEST_F(SessionTableTest, ASmallerBudgetIsKeptAndOutOfRangeBudgetsAreRefused) {
  auto session = expect_ok(table_.open("h/dr-1", kMaxSessionTtl, 3));
  EXPECT_EQ(session.signatures, 3u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(table_.use("h/dr-1", session.token).ok()) << i;
  EXPECT_EQ(table_.size(), 0u);  // the last signature spent frees its slot at once
  EXPECT_EQ(error_of(table_.use("h/dr-1", session.token)), ErrorCode::kPersonSessionInvalid);
  EXPECT_EQ(error_of(table_.open("h/dr-1", kMaxSessionTtl, 0)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(table_.open("h/dr-1", kMaxSessionTtl, kMaxSessionSignatures + 1)),
            ErrorCode::kInvalidArgument);
}

TEST_F(SessionTableTest, AnotherPersonsTokenIsRefusedWithoutSpendingIt) {
  auto session = expect_ok(table_.open("h/dr-1", 60s));
  EXPECT_EQ(error_of(table_.use("h/pat-1", session.token)), ErrorCode::kPersonSessionInvalid);
  expect_ok(table_.use("h/dr-1", session.token));
}

TEST_F(SessionTableTest, UnknownTamperedClosedAndRevokedTokensAreRefused) {
  auto session = expect_ok(table_.open("h/dr-1", 60s));
  EXPECT_EQ(error_of(table_.use("h/dr-1", secret("not-a-token"))),
            ErrorCode::kPersonSessionInvalid);
  core::SecretBytes tampered = session.token.clone();
  tampered.data()[0] ^= 0x01;
  EXPECT_EQ(error_of(table_.use("h/dr-1", tampered)), ErrorCode::kPersonSessionInvalid);

  expect_ok(table_.close(session.token));
  EXPECT_EQ(error_of(table_.use("h/dr-1", session.token)), ErrorCode::kPersonSessionInvalid);
  EXPECT_EQ(error_of(table_.close(session.token)), ErrorCode::kPersonSessionInvalid);

  auto a = expect_ok(table_.open("h/dr-1", 60s));
  auto b = expect_ok(table_.open("h/dr-1", 60s));
  auto other = expect_ok(table_.open("h/dr-2", 60s));
  EXPECT_EQ(table_.close_all_of("h/dr-1"), 2u);
  EXPECT_EQ(error_of(table_.use("h/dr-1", a.token)), ErrorCode::kPersonSessionInvalid);
  EXPECT_EQ(error_of(table_.use("h/dr-1", b.token)), ErrorCode::kPersonSessionInvalid);
  expect_ok(table_.use("h/dr-2", other.token));
}

TEST_F(SessionTableTest, LifetimeMustBePositiveAndAtMostTheMaximum) {
  EXPECT_EQ(error_of(table_.open("h/dr-1", 0s)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(table_.open("h/dr-1", -5s)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(table_.open("h/dr-1", kMaxSessionTtl + 1s)), ErrorCode::kInvalidArgument);
  (void)expect_ok(table_.open("h/dr-1", kMaxSessionTtl));
}

TEST_F(SessionTableTest, FullTableRefusesNewSessionsUntilExpiredOnesAreSwept) {
  for (std::size_t i = 0; i < kMaxOpenSessions; ++i)
    ASSERT_TRUE(table_.open("h/dr-1", 1s).ok()) << i;
  EXPECT_EQ(error_of(table_.open("h/dr-2", 60s)), ErrorCode::kSessionExhausted);
  now_ms_ += 1'000;  // all of them expire
  (void)expect_ok(table_.open("h/dr-2", 60s));
  EXPECT_EQ(table_.size(), 1u);
}

using NodeSessionTest = TwoHospitals;

TEST_F(NodeSessionTest, SessionsStoreAndReadRecordsWithoutThePins) {
  auto doctor = expect_ok(node_a_->signing().open_session("hospital-a/dr-a", secret(kDoctorPin)));
  auto patient =
      expect_ok(node_a_->signing().open_session("hospital-a/pat-a", secret(kPatientPin), 60s));
  auto as_doctor = [&] { return PersonCredential::session_token(doctor.token.clone()); };
  auto as_patient = [&] { return PersonCredential::session_token(patient.token.clone()); };
  auto receipt = expect_ok(node_a_->records().put(fhir("rec-1"), as_doctor(), as_patient()));
  EXPECT_EQ(receipt.result, ledger::kTxAccepted);
  auto read = expect_ok(node_a_->records().read(read_at_a("rec-1"), as_doctor()));
  EXPECT_EQ(core::to_string(read.plaintext), R"({"resourceType":"Observation"})");
  (void)expect_ok(
      node_a_->sharing().grant({"hospital-a/pat-a", "hospital-b", {}, std::nullopt}, as_patient()));
  (void)expect_ok(node_a_->sharing().revoke("hospital-a/pat-a", "hospital-b", as_patient()));
  auto signature = expect_ok(node_a_->signing().sign_digest("hospital-a/dr-a", as_doctor(),
                                                            core::sha256(core::to_bytes("x"))));
  EXPECT_FALSE(signature.signature.empty());
  expect_verify_clean();
}

TEST_F(NodeSessionTest, OpeningASessionNeedsTheRightPinAndCountsFailuresTowardsLockout) {
  EXPECT_EQ(error_of(node_a_->signing().open_session("hospital-a/dr-a", secret("wrong-pin"))),
            ErrorCode::kPersonPinIncorrect);
  EXPECT_EQ(error_of(node_a_->signing().open_session("hospital-a/nobody", secret(kDoctorPin))),
            ErrorCode::kNotFound);
  EXPECT_EQ(error_of(node_a_->signing().open_session("hospital-a/dr-a", secret(kDoctorPin), 0s)),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(node_a_->signing().open_session("hospital-a/dr-a", secret(kDoctorPin),
                                                     kMaxSessionTtl + 1s)),
            ErrorCode::kInvalidArgument);
}

TEST_F(NodeSessionTest, APatientsSessionCannotSignAsTheDoctorAndNothingIsStored) {
  auto patient =
      expect_ok(node_a_->signing().open_session("hospital-a/pat-a", secret(kPatientPin)));
  const auto size = log_size();
  EXPECT_EQ(error_of(node_a_->records().put(
                fhir("rec-1"), PersonCredential::session_token(patient.token.clone()),
                PersonCredential::session_token(patient.token.clone()))),
            ErrorCode::kPersonSessionInvalid);
  EXPECT_EQ(
      error_of(node_a_->records().put(
          fhir("rec-1"), PersonCredential::session_token("made-up-token"), by_pin(kPatientPin))),
      ErrorCode::kPersonSessionInvalid);
  EXPECT_EQ(log_size(), size);
}

TEST_F(NodeSessionTest, ClosedSessionAndSessionsOfARevokedPersonSignNothing) {
  auto doctor = expect_ok(node_a_->signing().open_session("hospital-a/dr-a", secret(kDoctorPin)));
  auto patient =
      expect_ok(node_a_->signing().open_session("hospital-a/pat-a", secret(kPatientPin)));
  expect_ok(node_a_->signing().close_session(doctor.token));
  EXPECT_EQ(error_of(node_a_->signing().close_session(doctor.token)),
            ErrorCode::kPersonSessionInvalid);
  EXPECT_EQ(error_of(node_a_->signing().sign_digest(
                "hospital-a/dr-a", PersonCredential::session_token(doctor.token.clone()),
                core::sha256(core::to_bytes("x")))),
            ErrorCode::kPersonSessionInvalid);

  (void)expect_ok(node_a_->persons().revoke("hospital-a/pat-a", "keyCompromise"));
  EXPECT_EQ(error_of(node_a_->signing().sign_digest(
                "hospital-a/pat-a", PersonCredential::session_token(patient.token.clone()),
                core::sha256(core::to_bytes("x")))),
            ErrorCode::kPersonSessionInvalid);
  EXPECT_EQ(error_of(node_a_->signing().open_session("hospital-a/pat-a", secret(kPatientPin))),
            ErrorCode::kPersonLocked);
}

TEST_F(NodeSessionTest, ASessionOfHospitalAIsUnknownAtHospitalB) {
  auto doctor = expect_ok(node_a_->signing().open_session("hospital-a/dr-a", secret(kDoctorPin)));
  EXPECT_EQ(error_of(node_b_->signing().sign_digest(
                "hospital-b/dr-b", PersonCredential::session_token(doctor.token.clone()),
                core::sha256(core::to_bytes("x")))),
            ErrorCode::kPersonSessionInvalid);
}

}  // namespace
}  // namespace medledger::node::testing
