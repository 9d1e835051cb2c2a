// EtcdOrderer on real etcd members: replicas agree, catch up, refuse writes without a
// quorum and resume, commit a transaction submitted twice once, and halt on evidence.
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "consortium_fixture.h"
#include "medledger/ledger/verify.h"

namespace medledger::cluster::testing {
namespace {

using core::ErrorCode;

void expect_accepted(const core::Result<ledger::Receipt>& receipt) {
  ASSERT_TRUE(receipt) << receipt.error().to_string();
  EXPECT_EQ(receipt->result, ledger::kTxAccepted);
}

TEST(EtcdOrderer, ThreeReplicasOrderEveryWriteIdentically) {
  Consortium c;
  for (int i = 0; i < Consortium::kReplicas; ++i) ASSERT_TRUE(c.start(i));
  // Every node proposes at once: races for the same height are lost and re-proposed.
  std::vector<std::thread> writers;
  std::atomic<int> accepted{0};
  for (int i = 0; i < Consortium::kReplicas; ++i) {
    writers.emplace_back([&, i] {
      std::vector<std::future<core::Result<ledger::Receipt>>> futures;
      for (int k = 0; k < 20; ++k)
        futures.push_back(c.replica(i).orderer->submit(
            kv_put("key-" + std::to_string(i) + "-" + std::to_string(k), "v")));
      for (auto& f : futures) {
        auto r = f.get();
        if (r && r->result == ledger::kTxAccepted) accepted.fetch_add(1);
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(accepted.load(), 60);
  ASSERT_TRUE(c.converge());
  const auto tip = c.replica(0).ledger->tip();
  EXPECT_EQ(tip->block.header.log_size, 61u);  // genesis + 60
  for (int i = 0; i < Consortium::kReplicas; ++i) {
    auto other = c.replica(i).ledger->tip();
    EXPECT_EQ(other->block.hash, tip->block.hash) << "replica " << i;
    EXPECT_EQ(*c.replica(i).ledger->root_at(61), *c.replica(0).ledger->root_at(61));
    ledger::KeyValueContract fresh;
    auto report = ledger::verify_ledger(*c.replica(i).ledger, fresh);
    EXPECT_TRUE(report) << "replica " << i << ": " << report.error().to_string();
  }
  std::uint64_t proposed = 0;
  for (int i = 0; i < Consortium::kReplicas; ++i)
    proposed += c.replica(i).orderer->blocks_proposed();
  EXPECT_EQ(proposed, tip->block.header.height);  // every block but genesis was proposed once
}

TEST(EtcdOrderer, SameTransactionAtTwoNodesIsCommittedOnce) {
  Consortium c;
  ASSERT_TRUE(c.start(0));
  ASSERT_TRUE(c.start(1));
  const std::string wire = kv_put("twice", "v");
  auto at_a = c.replica(0).orderer->submit(wire);
  auto at_b = c.replica(1).orderer->submit(wire);
  auto a = at_a.get();
  auto b = at_b.get();
  // Each caller learns the one commit (a receipt) or that it is already logged.
  int receipts = 0;
  for (auto* r : {&a, &b}) {
    if (*r) {
      ++receipts;
      EXPECT_EQ(r->value().result, ledger::kTxAccepted);
    } else {
      EXPECT_EQ(r->error().code, ErrorCode::kTxDuplicate) << r->error().to_string();
    }
  }
  EXPECT_GE(receipts, 1);
  ASSERT_TRUE(c.converge());
  auto tip = c.replica(0).ledger->tip();
  EXPECT_EQ(tip->block.header.log_size, 2u);  // genesis + the transaction, once
}

TEST(EtcdOrderer, FollowersApplyBlocksAsTheWatchDeliversThemWithoutReadingEtcd) {
  Consortium c;
  for (int i = 1; i < Consortium::kReplicas; ++i)
    c.options(i).poll_interval = std::chrono::minutes(10);  // no periodic range read
  for (int i = 0; i < Consortium::kReplicas; ++i) ASSERT_TRUE(c.start(i));
  constexpr int kWrites = 5;
  for (int k = 0; k < kWrites; ++k) {
    expect_accepted(c.submit(0, kv_put("watched-" + std::to_string(k), "v")));
    ASSERT_TRUE(c.converge(std::chrono::seconds(10))) << "write " << k;
  }
  for (int i = 1; i < Consortium::kReplicas; ++i) {
    EXPECT_EQ(c.replica(i).orderer->blocks_applied_from_others(), std::uint64_t{kWrites});
    EXPECT_EQ(c.replica(i).orderer->blocks_applied_from_watch(), std::uint64_t{kWrites})
        << "replica " << i << " range-read blocks the watch had delivered";
  }
}

TEST(EtcdOrderer, RestartedReplicaCatchesUpFromEtcd) {
  Consortium c;
  ASSERT_TRUE(c.start(0));
  ASSERT_TRUE(c.start(1));
  expect_accepted(c.submit(1, kv_put("before", "v")));
  c.stop(1);
  for (int k = 0; k < 5; ++k)
    expect_accepted(c.submit(0, kv_put("while-down-" + std::to_string(k), "v")));
  EXPECT_LT(c.height(1), c.height(0));
  ASSERT_TRUE(c.start(1));  // start() reads what it missed before it returns
  EXPECT_EQ(c.height(1), c.height(0));
  expect_accepted(c.submit(1, kv_put("after", "v")));
  ASSERT_TRUE(c.converge());
}

TEST(EtcdOrderer, BrandNewReplicaStartsFromGenesisInEtcd) {
  Consortium c;
  ASSERT_TRUE(c.start(0));
  for (int k = 0; k < 3; ++k) expect_accepted(c.submit(0, kv_put("k" + std::to_string(k), "v")));
  ASSERT_TRUE(c.start(2));
  EXPECT_EQ(c.replica(2).ledger->genesis_hash(), c.replica(0).ledger->genesis_hash());
  EXPECT_EQ(c.height(2), c.height(0));
}

TEST(EtcdOrderer, WithoutQuorumWritesAreUnavailableThenResume) {
  Consortium c;
  ASSERT_TRUE(c.start(0));
  expect_accepted(c.submit(0, kv_put("before", "v")));
  const std::uint64_t height = c.height(0);
  c.etcd().kill_member(1);
  c.etcd().kill_member(2);
  // A write that meets the outage in its etcd request gets no answer: it may be committed,
  // so it is kept until etcd answers (found there, or proposed again).
  const std::string in_doubt_wire = kv_put("no-quorum", "v");
  auto in_doubt = c.replica(0).orderer->submit(in_doubt_wire);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (c.replica(0).orderer->health() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Until etcd answers again, writes are refused at once and health() names why.
  auto health = c.replica(0).orderer->health();
  ASSERT_FALSE(health);
  EXPECT_EQ(health.error().code, ErrorCode::kOrderingUnavailable);
  auto refused = c.submit(0, kv_put("refused", "v"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kOrderingUnavailable) << refused.error().to_string();
  // Committed data stays readable from the replica.
  EXPECT_EQ(c.height(0), height);
  ASSERT_TRUE(c.etcd().restart_member(1));
  ASSERT_TRUE(c.etcd().restart_member(2));
  core::Result<ledger::Receipt> resumed = core::make_error(ErrorCode::kInternal, "not tried");
  for (int attempt = 0; attempt < 100 && !resumed; ++attempt) {
    resumed = c.submit(0, kv_put("resumed-" + std::to_string(attempt), "v"));
    if (!resumed) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  expect_accepted(resumed);
  EXPECT_TRUE(c.replica(0).orderer->health());
  // The write that met the outage is resolved: committed exactly once, or (when the
  // orderer had already seen the outage, so it never reached etcd) refused and absent.
  ASSERT_EQ(in_doubt.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto outcome = in_doubt.get();
  auto pending = ledger::prepare_transaction(in_doubt_wire);
  ASSERT_TRUE(pending);
  if (outcome) {
    EXPECT_EQ(outcome->result, ledger::kTxAccepted);
    EXPECT_TRUE(*c.replica(0).ledger->find(pending->id));
  } else {
    EXPECT_EQ(outcome.error().code, ErrorCode::kOrderingUnavailable) << outcome.error().to_string();
    EXPECT_FALSE(*c.replica(0).ledger->find(pending->id));
  }
  // Nothing was applied twice: the log is genesis, "before", and the accepted ones.
  ledger::KeyValueContract fresh;
  EXPECT_TRUE(ledger::verify_ledger(*c.replica(0).ledger, fresh));
}

TEST(EtcdOrderer, BlockRewrittenInEtcdHaltsTheReplica) {
  Consortium c;
  ASSERT_TRUE(c.start(0));
  expect_accepted(c.submit(0, kv_put("k", "v")));
  const std::string key = std::string(kPrefix) + "/blocks/" + std::string(19, '0') + "1";
  auto put = c.etcd().etcdctl({"put", key, "{\"forged\":1}"});
  ASSERT_TRUE(put.ok()) << put.err;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (c.replica(0).orderer->health() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto health = c.replica(0).orderer->health();
  ASSERT_FALSE(health);
  EXPECT_EQ(health.error().code, ErrorCode::kReplicaHalted);
  EXPECT_NE(health.error().message.find("rewritten"), std::string::npos) << health.error().message;
  auto refused = c.submit(0, kv_put("after", "v"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kReplicaHalted);
  EXPECT_FALSE(std::filesystem::is_empty(c.evidence_dir(0)));
}

TEST(EtcdOrderer, BlockCommittedInEtcdButNotInLmdbIsAppliedOnRestart) {
  Consortium c;
  ASSERT_TRUE(c.start(0));
  expect_accepted(c.submit(0, kv_put("k", "v")));
  c.stop(0);
  // The crash window: etcd took the block, the process died before its LMDB commit.
  auto& r = c.replica(0);
  auto etcd = EtcdClient::connect(c.options(0).etcd);
  ASSERT_TRUE(etcd);
  auto tip = r.ledger->tip();
  const std::string key = std::string(kPrefix) + "/blocks/" + std::string(19, '0') +
                          std::to_string(tip->block.header.height + 1);
  auto wire = kv_put("in-etcd-only", "v");
  auto pending = ledger::prepare_transaction(wire);
  ASSERT_TRUE(pending);
  auto aborted = r.ledger->append_block_published(
      {*pending}, kTxTimeMs + 10, r.contract, *r.signer,
      [&](const ledger::OrderedBlock& block) -> core::Result<void> {
        auto txn = (*etcd)->txn({{key, 0}}, {{key, ledger::encode_ordered_block(block)}});
        if (!txn || !txn->succeeded)
          return core::make_error(ErrorCode::kInternal, "etcd put failed");
        return core::make_error(ErrorCode::kLedgerStorage, "test: crash before the LMDB commit");
      });
  ASSERT_FALSE(aborted);
  EXPECT_EQ(r.ledger->tip()->block.header.height, tip->block.header.height);
  ASSERT_TRUE(c.start(0));
  EXPECT_EQ(c.height(0), tip->block.header.height + 1);
  EXPECT_TRUE(*r.ledger->find(pending->id));
}

TEST(EtcdOrderer, TransactionTooLargeForOneEtcdBlockIsRefusedAtSubmission) {
  Consortium c;
  c.options(0).max_batch_bytes = 4096;
  ASSERT_TRUE(c.start(0));
  auto refused = c.submit(0, kv_put("big", std::string(5000, 'x')));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kTxTooLarge);
  expect_accepted(c.submit(0, kv_put("small", "v")));
}

}  // namespace
}  // namespace medledger::cluster::testing
