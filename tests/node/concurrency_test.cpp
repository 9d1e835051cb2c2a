// HospitalNode with concurrent callers on real SoftHSM2 tokens and a real LMDB
// ledger: record writes from many threads all commit and share blocks (the solo
// orderer batches them), reads alongside writes, concurrent enrolments of one
// principal enrol it once.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <set>
#include <thread>
#include <vector>

#include "hospital_node_fixture.h"

namespace medledger::node::testing {
namespace {

using core::ErrorCode;
using NodeConcurrencyTest = TwoHospitals;

constexpr int kThreads = 8;
constexpr int kRecordsPerThread = 4;

TEST_F(NodeConcurrencyTest, RecordsStoredFromEightThreadsAllCommitAndShareBlocks) {
  auto doctor = expect_ok(node_a_->signing().open_session("hospital-a/dr-a", secret(kDoctorPin)));
  auto patient =
      expect_ok(node_a_->signing().open_session("hospital-a/pat-a", secret(kPatientPin)));
  std::vector<std::vector<core::Result<ledger::Receipt>>> results(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kRecordsPerThread; ++i) {
        results[t].push_back(
            node_a_->records().put(fhir("rec-" + std::to_string(t) + "-" + std::to_string(i)),
                                   PersonCredential::session_token(doctor.token.clone()),
                                   PersonCredential::session_token(patient.token.clone())));
      }
    });
  }
  for (auto& thread : threads) thread.join();

  std::set<std::uint64_t> heights;
  std::set<core::Digest> tx_ids;
  for (const auto& per_thread : results) {
    for (const auto& result : per_thread) {
      ASSERT_TRUE(result.ok()) << result.error().to_string();
      EXPECT_EQ(result->result, ledger::kTxAccepted);
      heights.insert(result->height);
      tx_ids.insert(result->tx_id);
    }
  }
  constexpr std::size_t kRecords = kThreads * kRecordsPerThread;
  EXPECT_EQ(tx_ids.size(), kRecords);
  EXPECT_LT(heights.size(), kRecords) << "concurrent writes should share blocks";
  EXPECT_EQ(expect_ok(node_a_->records().list("hospital-a/pat-a")).size(), kRecords);
  expect_verify_clean();
}

TEST_F(NodeConcurrencyTest, ReadsAndWritesFromSeveralThreadsAllSucceed) {
  auto doctor = expect_ok(node_a_->signing().open_session("hospital-a/dr-a", secret(kDoctorPin)));
  auto patient =
      expect_ok(node_a_->signing().open_session("hospital-a/pat-a", secret(kPatientPin)));
  (void)expect_ok(node_a_->records().put(fhir("shared", R"({"v":1})"),
                                         PersonCredential::session_token(doctor.token.clone()),
                                         PersonCredential::session_token(patient.token.clone())));
  std::atomic<int> failures{0};
  std::latch start(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < 3; ++i) {
        if (t % 2 == 0) {
          auto read = node_a_->records().read(
              read_at_a("shared"), PersonCredential::session_token(doctor.token.clone()));
          if (!read || core::to_string(read->plaintext) != R"({"v":1})") ++failures;
        } else {
          auto put =
              node_a_->records().put(fhir("w-" + std::to_string(t) + "-" + std::to_string(i)),
                                     PersonCredential::session_token(doctor.token.clone()),
                                     PersonCredential::session_token(patient.token.clone()));
          if (!put) ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  expect_verify_clean();
}

TEST_F(NodeConcurrencyTest, OnePrincipalEnrolledFromFourThreadsAtOnceIsEnrolledOnce) {
  std::atomic<int> enrolled{0};
  std::atomic<int> already{0};
  std::latch start(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto result =
          node_a_->persons().enrol({ca::Role::kDoctor, "dr-race", secret(kDoctorPin), {}});
      if (result) {
        ++enrolled;
      } else if (result.error().code == ErrorCode::kAlreadyExists) {
        ++already;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(enrolled.load(), 1);
  EXPECT_EQ(already.load(), 3);
  auto state = expect_ok(ledger::StateSnapshot::open(ledger_->ledger().store()));
  EXPECT_EQ(expect_ok(ledger::person_certificates(*state, "hospital-a/dr-race")).size(), 1u);
}

}  // namespace
}  // namespace medledger::node::testing
