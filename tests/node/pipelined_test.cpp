// HospitalNode's asynchronous calls (put_record_async, read_record_async): one
// caller keeps several operations in flight on real SoftHSM2 tokens and a real LMDB
// ledger; each one's wait() gives exactly what the synchronous call would.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <set>
#include <vector>

#include "hospital_node_fixture.h"

namespace medledger::node::testing {
namespace {

using core::ErrorCode;
// Sessions of hospital A's doctor and patient, opened once per test (one scrypt each).
class NodePipelinedTest : public TwoHospitals {
 protected:
  void SetUp() override {
    TwoHospitals::SetUp();
    doctor_ = expect_ok(node_a_->signing().open_session("hospital-a/dr-a", secret(kDoctorPin)));
    patient_ = expect_ok(node_a_->signing().open_session("hospital-a/pat-a", secret(kPatientPin)));
  }
  PersonCredential as_doctor() const {
    return PersonCredential::session_token(doctor_.token.clone());
  }
  PersonCredential as_patient() const {
    return PersonCredential::session_token(patient_.token.clone());
  }
  // put_record_async with both sessions.
  core::Result<PendingCommit> put_async(const RecordPutRequest& request) {
    return node_a_->records().put_async(request, as_doctor(), as_patient());
  }

  PersonSession doctor_, patient_;
};

constexpr int kInFlight = 12;

TEST_F(NodePipelinedTest, WritesKeptInFlightByOneCallerAllCommitAndShareBlocks) {
  std::vector<PendingCommit> pending;
  for (int i = 0; i < kInFlight; ++i) {
    pending.push_back(expect_ok(put_async(fhir("rec-" + std::to_string(i)))));
  }
  std::set<std::uint64_t> heights;
  for (auto& p : pending) {
    auto receipt = expect_ok(p.wait());
    EXPECT_EQ(receipt.result, ledger::kTxAccepted);
    heights.insert(receipt.height);
    EXPECT_TRUE(expect_ok(ledger_->ledger().find(receipt.tx_id)).has_value());
  }
  EXPECT_LT(heights.size(), static_cast<std::size_t>(kInFlight))
      << "writes in flight together should share blocks";
  EXPECT_EQ(expect_ok(node_a_->records().list("hospital-a/pat-a")).size(),
            static_cast<std::size_t>(kInFlight));
  expect_verify_clean();
}

TEST_F(NodePipelinedTest, TwoFirstVersionsInFlightForOneRecordCommitOneAndRejectTheOther) {
  // Both are prepared as version 1 before either commits; the contract decides.
  auto first = expect_ok(put_async(fhir("same", R"({"v":1})")));
  auto second = expect_ok(put_async(fhir("same", R"({"v":2})")));
  auto committed = expect_ok(first.wait());
  EXPECT_EQ(committed.result, ledger::kTxAccepted);
  auto rejected = second.wait();
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, ErrorCode::kRecordAlreadyExists);  // version 1 again
  auto read = expect_ok(node_a_->records().read(read_at_a("same"), as_doctor()));
  EXPECT_EQ(core::to_string(read.plaintext), R"({"v":1})");
  EXPECT_EQ(read.version, 1u);
}

TEST_F(NodePipelinedTest, ReadsInFlightReleaseThePlaintextWithTheirCommittedAuditEntry) {
  (void)expect_ok(node_a_->records().put(fhir("chart", R"({"v":1})"), as_doctor(), as_patient()));
  std::vector<PendingRead> pending;
  for (int i = 0; i < kInFlight; ++i) {
    pending.push_back(expect_ok(node_a_->records().read_async(read_at_a("chart"), as_doctor())));
  }
  std::set<core::Digest> audit_entries;
  for (auto& p : pending) {
    auto read = expect_ok(p.wait());
    EXPECT_EQ(core::to_string(read.plaintext), R"({"v":1})");
    EXPECT_EQ(read.receipt.result, ledger::kTxAccepted);
    EXPECT_TRUE(expect_ok(ledger_->ledger().find(read.receipt.tx_id)).has_value());
    audit_entries.insert(read.receipt.tx_id);
  }
  EXPECT_EQ(audit_entries.size(), static_cast<std::size_t>(kInFlight));
  expect_verify_clean();
}

TEST_F(NodePipelinedTest, RefusalsBeforeTheAuditEntryIsQueuedComeFromTheCallItself) {
  auto missing = node_a_->records().read_async(read_at_a("no-such-record"), as_doctor());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kRecordNotFound);
  auto wrong_session = node_a_->records().put_async(fhir("rec"), as_doctor(), as_doctor());
  ASSERT_FALSE(wrong_session);
  EXPECT_EQ(wrong_session.error().code, ErrorCode::kPersonSessionInvalid);
  EXPECT_TRUE(expect_ok(node_a_->records().list("hospital-a/pat-a")).empty());
}

TEST_F(NodePipelinedTest, APendingCommitCanBeWaitedForOnlyOnce) {
  auto pending = expect_ok(put_async(fhir("once")));
  EXPECT_TRUE(pending.wait().ok());
  auto again = pending.wait();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInternal);
}

TEST_F(NodePipelinedTest, ThenGivesWhatWaitWouldFromTheWriterThreadWithoutAWaiter) {
  std::promise<core::Result<ledger::Receipt>> accepted, rejected;
  expect_ok(put_async(fhir("twice", R"({"v":1})"))).then([&](core::Result<ledger::Receipt> r) {
    accepted.set_value(std::move(r));
  });
  expect_ok(put_async(fhir("twice", R"({"v":2})"))).then([&](core::Result<ledger::Receipt> r) {
    rejected.set_value(std::move(r));
  });
  auto receipt = accepted.get_future().get();
  ASSERT_TRUE(receipt) << receipt.error().to_string();
  EXPECT_TRUE(expect_ok(ledger_->ledger().find(receipt->tx_id)).has_value());  // durable when told
  auto refusal = rejected.get_future().get();  // the contract's rejection, as wait() gives it
  ASSERT_FALSE(refusal);
  EXPECT_EQ(refusal.error().code, ErrorCode::kRecordAlreadyExists);

  // A read's plaintext comes with its committed audit entry.
  auto pending_read = expect_ok(node_a_->records().read_async(read_at_a("twice"), as_doctor()));
  std::promise<core::Result<RecordRead>> read_told;
  pending_read.then([&](core::Result<RecordRead> r) { read_told.set_value(std::move(r)); });
  auto read = read_told.get_future().get();
  ASSERT_TRUE(read) << read.error().to_string();
  EXPECT_EQ(core::to_string(read->plaintext), R"({"v":1})");
  EXPECT_TRUE(expect_ok(ledger_->ledger().find(read->receipt.tx_id)).has_value());
  expect_verify_clean();
}

TEST_F(NodePipelinedTest, ThenAfterTheCommitIsKnownAnswersAtOnceAndWaitAfterThenIsRefused) {
  auto first = expect_ok(put_async(fhir("a")));
  // A later write committed means the earlier one is known too (blocks are in order).
  auto later = expect_ok(put_async(fhir("b")));
  ASSERT_TRUE(later.wait().ok());
  std::optional<core::Result<ledger::Receipt>> told;
  first.then([&](core::Result<ledger::Receipt> r) { told = std::move(r); });
  ASSERT_TRUE(told.has_value());  // in this thread, before then() returned
  EXPECT_TRUE(told->ok());
  auto again = first.wait();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInternal);
}

TEST_F(NodePipelinedTest, AStoppedLedgerTellsEveryPendingCommitAndRefusesNewOnes) {
  std::vector<std::promise<core::Result<ledger::Receipt>>> told(kInFlight);
  for (int i = 0; i < kInFlight; ++i) {
    expect_ok(put_async(fhir("s-" + std::to_string(i))))
        .then([&, i](core::Result<ledger::Receipt> r) {
          told[static_cast<std::size_t>(i)].set_value(std::move(r));
        });
  }
  ledger_->stop();  // what `serve` does on SIGTERM once its requests drained
  for (auto& promise : told) {
    auto future = promise.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(0)),
              std::future_status::ready);  // told before stop() returned
    EXPECT_TRUE(future.get().ok());        // queued ones commit
  }
  auto refused = put_async(fhir("after"));
  ASSERT_TRUE(refused);
  auto outcome = refused->wait();
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kOrderingStopped);
}

}  // namespace
}  // namespace medledger::node::testing
