// One proposer at a time, on real etcd members: the lease holder proposes, the other
// replicas forward their transactions to it and answer when its block applies; when it
// stops, or takes transactions and does not order them, the others propose themselves;
// a transaction proposed both ways is logged once.
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "consortium_fixture.h"
#include "medledger/ledger/verify.h"

namespace medledger::cluster::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Which running replica holds the proposer lease (-1: none within `limit`).
int wait_for_proposer(Consortium& c, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    for (int i = 0; i < Consortium::kReplicas; ++i)
      if (c.replica(i).orderer && c.replica(i).orderer->leads()) return i;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

// Submits `count` writes at replica i at once and counts the accepted receipts.
int write_at(Consortium& c, int i, int count, const std::string& tag) {
  std::vector<std::future<core::Result<ledger::Receipt>>> futures;
  for (int k = 0; k < count; ++k)
    futures.push_back(c.replica(i).orderer->submit(kv_put(tag + std::to_string(k), "v")));
  int accepted = 0;
  for (auto& f : futures) {
    auto r = f.get();
    EXPECT_TRUE(r) << r.error().to_string();
    if (r && r->result == ledger::kTxAccepted) ++accepted;
  }
  return accepted;
}

void expect_replicas_verify(Consortium& c, int from, int to) {
  for (int i = from; i < to; ++i) {
    ledger::KeyValueContract fresh;
    auto report = ledger::verify_ledger(*c.replica(i).ledger, fresh);
    EXPECT_TRUE(report) << "replica " << i << ": " << report.error().to_string();
  }
}

TEST(EtcdProposer, OneReplicaProposesAndTheOthersForwardToIt) {
  Consortium c;
  c.forward_in_process();
  for (int i = 0; i < Consortium::kReplicas; ++i) ASSERT_TRUE(c.start(i));
  const int proposer = wait_for_proposer(c);
  ASSERT_EQ(proposer, 0) << "the founder starts first and takes the free lease";
  std::vector<std::thread> writers;
  std::atomic<int> accepted{0};
  for (int i = 0; i < Consortium::kReplicas; ++i)
    writers.emplace_back([&, i] { accepted += write_at(c, i, 20, "w" + std::to_string(i) + "-"); });
  for (auto& w : writers) w.join();
  EXPECT_EQ(accepted.load(), 60);
  ASSERT_TRUE(c.converge());
  EXPECT_EQ(c.replica(0).ledger->tip()->block.header.log_size, 61u);  // genesis + 60, once each
  for (int i = 1; i < Consortium::kReplicas; ++i) {
    EXPECT_EQ(c.replica(i).orderer->blocks_proposed(), 0u) << "replica " << i;
    EXPECT_EQ(c.replica(i).orderer->transactions_forwarded(), 20u) << "replica " << i;
  }
  EXPECT_EQ(c.replica(0).orderer->blocks_proposed(), c.height(0));
  EXPECT_EQ(c.replica(0).orderer->races_lost(), 0u);
  expect_replicas_verify(c, 0, Consortium::kReplicas);
}

TEST(EtcdProposer, WhenTheProposerStopsAnotherReplicaTakesOver) {
  Consortium c;
  c.forward_in_process();
  for (int i = 0; i < Consortium::kReplicas; ++i) ASSERT_TRUE(c.start(i));
  ASSERT_EQ(wait_for_proposer(c), 0);
  EXPECT_EQ(write_at(c, 1, 5, "before-"), 5);
  c.stop(0);  // revokes its lease: the key is free at once
  // Writes go on at once (forwarding fails: proposed here) and a new proposer is elected.
  EXPECT_EQ(write_at(c, 1, 5, "after-"), 5);
  const int next = wait_for_proposer(c, std::chrono::seconds(5));
  EXPECT_TRUE(next == 1 || next == 2) << next;
  EXPECT_EQ(write_at(c, 2, 5, "elected-"), 5);
  ASSERT_TRUE(c.converge());
  EXPECT_EQ(c.replica(1).ledger->tip()->block.header.log_size, 16u);
  expect_replicas_verify(c, 1, Consortium::kReplicas);
}

TEST(EtcdProposer, ForwardedTransactionsNotOrderedInTimeAreProposedHere) {
  Consortium c;
  c.forward_in_process();
  // Replica 1's proposer says it holds what it is given, and drops it.
  std::atomic<int> dropped{0};
  c.options(1).forward = [&](const std::string&, const std::vector<std::string>& wires) {
    dropped += static_cast<int>(wires.size());
    return core::Result<std::vector<bool>>(std::vector<bool>(wires.size(), true));
  };
  c.options(1).forward_timeout = std::chrono::milliseconds(300);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(c.start(i));
  ASSERT_EQ(wait_for_proposer(c), 0);
  const auto started = Clock::now();
  EXPECT_EQ(write_at(c, 1, 3, "dropped-"), 3);
  EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(300));
  EXPECT_EQ(dropped.load(), 3);
  EXPECT_GE(c.replica(1).orderer->blocks_proposed(), 1u);
  ASSERT_TRUE(c.converge());
  EXPECT_EQ(c.replica(0).ledger->tip()->block.header.log_size, 4u);
}

TEST(EtcdProposer, TransactionOrderedByBothTheProposerAndItsSenderIsLoggedOnce) {
  Consortium c;
  c.forward_in_process();
  // Replica 1 gives up on the proposer at once, so the proposer and replica 1 both
  // propose the same transactions: one block wins, the other is thrown away.
  c.options(1).forward_timeout = std::chrono::milliseconds(1);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(c.start(i));
  ASSERT_EQ(wait_for_proposer(c), 0);
  std::vector<std::future<core::Result<ledger::Receipt>>> futures;
  for (int k = 0; k < 30; ++k)
    futures.push_back(c.replica(1).orderer->submit(kv_put("twice-" + std::to_string(k), "v")));
  int answered = 0;
  for (auto& f : futures) {
    auto r = f.get();
    // Accepted, or (when the proposer's block won and this node's copy lost) already logged.
    if (r) {
      EXPECT_EQ(r->result, ledger::kTxAccepted);
      ++answered;
    } else {
      EXPECT_EQ(r.error().code, core::ErrorCode::kTxDuplicate) << r.error().to_string();
    }
  }
  EXPECT_GE(answered, 1);
  ASSERT_TRUE(c.converge());
  EXPECT_EQ(c.replica(0).ledger->tip()->block.header.log_size, 31u);  // each of the 30 once
  expect_replicas_verify(c, 0, 2);
}

TEST(EtcdProposer, AReplicaWhoseKeyIsNoProposerRefusesWritesWithoutAProposerToForwardTo) {
  Consortium c;
  c.set_genesis_proposers({0, 1});  // replica 2 is not a member
  ASSERT_TRUE(c.start(0));
  ASSERT_TRUE(c.start(2));
  const auto height = c.height(0);
  auto refused = c.submit(2, kv_put("from-a-non-member", "v"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::ErrorCode::kOrderingUnavailable);
  EXPECT_NE(refused.error().message.find("not a proposer"), std::string::npos)
      << refused.error().to_string();
  EXPECT_EQ(c.replica(2).orderer->blocks_proposed(), 0u);
  // Nothing reached etcd: the members go on writing, no replica halted.
  auto accepted = c.submit(0, kv_put("from-a-member", "v"));
  ASSERT_TRUE(accepted) << accepted.error().to_string();
  ASSERT_TRUE(c.converge());
  EXPECT_EQ(c.height(2), height + 1);
  EXPECT_TRUE(c.replica(2).orderer->health());
  EXPECT_TRUE(c.replica(0).orderer->health());
}

TEST(EtcdProposer, AReplicaWhoseKeyIsNoProposerForwardsToTheLeaseHolder) {
  Consortium c;
  c.set_genesis_proposers({0, 1});
  c.forward_in_process();
  ASSERT_TRUE(c.start(0));
  ASSERT_EQ(wait_for_proposer(c), 0);
  ASSERT_TRUE(c.start(2));
  EXPECT_EQ(write_at(c, 2, 5, "non-member-"), 5);
  EXPECT_FALSE(c.replica(2).orderer->leads());
  EXPECT_EQ(c.replica(2).orderer->blocks_proposed(), 0u);
  EXPECT_EQ(c.replica(2).orderer->transactions_forwarded(), 5u);
  c.stop(0);  // no proposer left: the non-member does not step in
  auto refused = c.submit(2, kv_put("after-the-proposer", "v"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::ErrorCode::kOrderingUnavailable)
      << refused.error().to_string();
  EXPECT_FALSE(c.replica(2).orderer->leads());
}

}  // namespace
}  // namespace medledger::cluster::testing
