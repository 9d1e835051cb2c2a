// EtcdOrderer under faults, on real etcd members: the etcd leader killed under load, a
// node stopped under load and restarted, two nodes racing for every height, the NOSPACE
// alarm, a block forged by a non-member, a replica from another chain, and pruning.
// Each write-heavy test checks the same ledger invariants afterwards: every transaction
// acknowledged anywhere is in every replica's log exactly once, nothing refused as
// ORDERING_UNAVAILABLE is in it, the replicas share one tip and verify_ledger passes.
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "consortium_fixture.h"
#include "medledger/core/assert.h"
#include "medledger/ledger/verify.h"

namespace medledger::cluster::testing {
namespace {

using core::ErrorCode;
using Clock = std::chrono::steady_clock;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::Digest tx_id(const std::string& wire) {
  auto pending = ledger::prepare_transaction(wire);
  MEDLEDGER_ASSERT(static_cast<bool>(pending));
  return pending->id;
}

std::string block_key(std::uint64_t height) {
  const std::string digits = std::to_string(height);
  return std::string(kPrefix) + "/blocks/" + std::string(20 - digits.size(), '0') + digits;
}

/// Waits up to `limit` for `done`; true if it held.
template <typename Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

/// What the clients were told, by transaction id.
struct Outcomes {
  std::mutex mutex;
  std::set<core::Digest> committed;  // a receipt (or TX_DUPLICATE: already in the log)
  std::set<core::Digest> refused;    // ORDERING_UNAVAILABLE: never ordered, retry
  std::set<core::Digest> unknown;    // anything else (e.g. the orderer stopped)
  std::map<std::string, int> errors;

  /// Files one outcome; true when the transaction was committed.
  bool record(const core::Digest& id, const core::Result<ledger::Receipt>& outcome) {
    std::lock_guard lock(mutex);
    if (outcome && outcome->result == ledger::kTxAccepted) {
      committed.insert(id);
      return true;
    }
    const std::string name = outcome ? "result " + ledger::result_name(outcome->result)
                                     : std::string(core::error_code_name(outcome.error().code));
    ++errors[name];
    if (!outcome && outcome.error().code == ErrorCode::kTxDuplicate)
      committed.insert(id);
    else if (!outcome && outcome.error().code == ErrorCode::kOrderingUnavailable)
      refused.insert(id);
    else
      unknown.insert(id);
    return false;
  }

  std::string summary() {
    std::lock_guard lock(mutex);
    std::string s = std::to_string(committed.size()) + " committed, " +
                    std::to_string(refused.size()) + " refused, " + std::to_string(unknown.size()) +
                    " unknown";
    for (const auto& [name, count] : errors) s += "; " + name + " x" + std::to_string(count);
    return s;
  }
};

/// Submits at one node and waits for the outcome; nullopt when the node is down.
using SubmitFn = std::function<std::optional<std::future<core::Result<ledger::Receipt>>>(
    const std::string& wire)>;

/// A client writing one transaction at a time until `stop`: on any error it writes a new
/// transaction (never the same one again), as a client told "unavailable, retry" would.
/// Counts the transactions committed that were submitted after `after` was set.
void write_until(const std::atomic<bool>& stop, const SubmitFn& submit, const std::string& tag,
                 Outcomes& outcomes, const std::atomic<bool>* after = nullptr,
                 std::atomic<int>* committed_after = nullptr) {
  for (int k = 0; !stop.load(); ++k) {
    const bool late = after != nullptr && after->load();
    const std::string wire = kv_put(tag + "-" + std::to_string(k), "v");
    auto future = submit(wire);
    if (!future) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    core::Result<ledger::Receipt> outcome =
        core::make_error(ErrorCode::kCommitUnconfirmed, "test: no outcome in 30 s");
    if (future->wait_for(std::chrono::seconds(30)) == std::future_status::ready)
      outcome = future->get();
    if (outcomes.record(tx_id(wire), outcome) && late && committed_after != nullptr)
      committed_after->fetch_add(1);
    if (!outcome) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

SubmitFn submit_at(Consortium& c, int i) {
  return [&c, i](const std::string& wire) { return c.replica(i).orderer->submit(wire); };
}

/// Every transaction id in the replica's log with how often it is logged.
std::map<core::Digest, int> logged_ids(const ledger::Ledger& ledger) {
  std::map<core::Digest, int> counts;
  const auto tip = ledger.tip();
  EXPECT_TRUE(tip);
  if (!tip) return counts;
  auto scanned = ledger.scan_log(0, tip->block.header.log_size,
                                 [&](std::uint64_t, std::uint16_t, std::string_view wire) {
                                   auto pending = ledger::prepare_transaction(std::string(wire));
                                   EXPECT_TRUE(pending);
                                   if (pending) ++counts[pending->id];
                                   return true;
                                 });
  EXPECT_TRUE(scanned);
  return counts;
}

/// The invariants every fault test ends with, on every running replica: the log holds each
/// committed transaction exactly once, no refused one, nothing no client submitted; the
/// replicas share one tip; verify_ledger passes.
void expect_consistent(Consortium& c, Outcomes& outcomes) {
  ASSERT_TRUE(c.converge()) << "the replicas did not reach one tip";
  std::lock_guard lock(outcomes.mutex);
  std::optional<core::Digest> tip_hash;
  for (int i = 0; i < Consortium::kReplicas; ++i) {
    Replica& r = c.replica(i);
    if (!r.orderer) continue;
    const auto tip = r.ledger->tip();
    ASSERT_TRUE(tip);
    if (!tip_hash) tip_hash = tip->block.hash;
    EXPECT_EQ(tip->block.hash, *tip_hash) << "replica " << i;
    const auto counts = logged_ids(*r.ledger);
    std::size_t unknown_logged = 0;
    for (const auto& [id, count] : counts) {
      EXPECT_EQ(count, 1) << "replica " << i << " logged " << core::hex_encode(id) << " " << count
                          << " times";
      if (outcomes.unknown.count(id) != 0) ++unknown_logged;
    }
    for (const core::Digest& id : outcomes.committed) {
      auto found = r.ledger->find(id);
      ASSERT_TRUE(found);
      EXPECT_TRUE(found->has_value())
          << "replica " << i << " lacks acknowledged " << core::hex_encode(id);
    }
    for (const core::Digest& id : outcomes.refused)
      EXPECT_EQ(counts.count(id), 0u)
          << "replica " << i << " logged " << core::hex_encode(id) << ", refused as unavailable";
    // Genesis, the acknowledged ones, and those whose answer did not say (if they landed).
    EXPECT_EQ(tip->block.header.log_size, 1 + outcomes.committed.size() + unknown_logged)
        << "replica " << i;
    ledger::KeyValueContract fresh;
    auto report = ledger::verify_ledger(*r.ledger, fresh);
    EXPECT_TRUE(report) << "replica " << i << ": " << report.error().to_string();
  }
}

TEST(EtcdFaults, LeaderKilledUnderLoad) {
  Consortium c;
  ASSERT_TRUE(c.start(0));
  ASSERT_TRUE(c.start(1));
  std::atomic<bool> stop{false}, killed{false};
  std::atomic<int> committed_after_kill{0};
  Outcomes outcomes;
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i)
    for (int t = 0; t < 2; ++t)
      clients.emplace_back([&, i, t] {
        write_until(stop, submit_at(c, i), "n" + std::to_string(i) + "t" + std::to_string(t),
                    outcomes, &killed, &committed_after_kill);
      });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const auto leader = c.etcd().leader();
  ASSERT_TRUE(leader.has_value());
  const auto kill_time = Clock::now();
  c.etcd().kill_member(*leader, SIGKILL);
  killed.store(true);
  // Writes in flight to the dead leader stall for up to the etcd request timeout (3 s
  // here) before the client moves to another member: keep writing past that.
  std::optional<Clock::duration> resumed_after;
  while (Clock::now() - kill_time < std::chrono::seconds(15)) {
    if (!resumed_after && committed_after_kill.load() > 0) resumed_after = Clock::now() - kill_time;
    if (Clock::now() - kill_time >= std::chrono::seconds(3) && committed_after_kill.load() >= 10)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop.store(true);
  for (auto& t : clients) t.join();
  std::cout << "[ outcomes ] " << outcomes.summary() << "; " << committed_after_kill.load()
            << " committed after the kill, the first "
            << (resumed_after
                    ? std::chrono::duration_cast<std::chrono::milliseconds>(*resumed_after).count()
                    : -1)
            << " ms after it\n";
  EXPECT_GT(committed_after_kill.load(), 0) << "no write was accepted after the leader died";
  expect_consistent(c, outcomes);
}

TEST(EtcdFaults, NodeKilledUnderLoadAndRestarted) {
  Consortium c;
  for (int i = 0; i < Consortium::kReplicas; ++i) ASSERT_TRUE(c.start(i));
  std::atomic<bool> stop{false};
  Outcomes outcomes;
  // Replica 2's clients reach it only while it runs: the guard keeps them off a destroyed
  // orderer.
  std::mutex guard;
  SubmitFn at_2 =
      [&](const std::string& wire) -> std::optional<std::future<core::Result<ledger::Receipt>>> {
    std::lock_guard lock(guard);
    if (!c.replica(2).orderer) return std::nullopt;
    return c.replica(2).orderer->submit(wire);
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < Consortium::kReplicas; ++i)
    clients.emplace_back([&, i] {
      write_until(stop, i == 2 ? at_2 : submit_at(c, i), "n" + std::to_string(i), outcomes);
    });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // The in-process analogue of kill -9 (a real kill of a serve process is tested with the
  // serve tests): the orderer is destroyed with its clients' writes in flight and the LMDB
  // environment closed; whatever it was answering must not be lost or logged twice.
  {
    std::lock_guard lock(guard);
    c.close(2);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const std::uint64_t height_before_restart = c.height(0);
  {
    std::lock_guard lock(guard);
    ASSERT_TRUE(c.start(2));  // catches up from etcd before it returns
  }
  EXPECT_GE(c.height(2), height_before_restart);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  stop.store(true);
  for (auto& t : clients) t.join();
  std::cout << "[ outcomes ] " << outcomes.summary() << "\n";
  expect_consistent(c, outcomes);
}

TEST(EtcdFaults, TwoNodesRaceForTheSameHeight) {
  Consortium c;
  ASSERT_TRUE(c.start(0));
  ASSERT_TRUE(c.start(1));
  constexpr int kRounds = 50;
  Outcomes outcomes;
  for (int round = 0; round < kRounds; ++round) {
    // Both orderers wake for one transaction each at once and propose the same height.
    const std::string a = kv_put("a-" + std::to_string(round), "v");
    const std::string b = kv_put("b-" + std::to_string(round), "v");
    auto at_a = c.replica(0).orderer->submit(a);
    auto at_b = c.replica(1).orderer->submit(b);
    outcomes.record(tx_id(a), at_a.get());
    outcomes.record(tx_id(b), at_b.get());
  }
  std::uint64_t races_lost = 0;
  for (int i = 0; i < 2; ++i) races_lost += c.replica(i).orderer->races_lost();
  std::cout << "[ races   ] " << races_lost << " lost in " << kRounds << " rounds; "
            << outcomes.summary() << "\n";
  EXPECT_EQ(outcomes.committed.size(), 2u * kRounds) << outcomes.summary();
  expect_consistent(c, outcomes);
  // Two proposals for one height every round: etcd's compare turned one of them away.
  EXPECT_GT(races_lost, 0u);
}

TEST(EtcdFaults, NospaceAlarm) {
  EtcdOptions small;
  small.members = 1;
  small.quota_backend_bytes = 4 * 1024 * 1024;
  Consortium c(small);
  // Long enough that health() is read before the next read of etcd succeeds (reads work
  // under NOSPACE, and a successful read ends the unavailability until the next write).
  c.options(0).retry_interval = std::chrono::seconds(5);
  ASSERT_TRUE(c.start(0));
  Outcomes outcomes;
  std::optional<core::Error> failure;
  for (int k = 0; k < 200 && !failure; ++k) {
    const std::string wire = kv_put("big-" + std::to_string(k), std::string(200 * 1024, 'x'));
    auto outcome = c.submit(0, wire);
    outcomes.record(tx_id(wire), outcome);
    if (!outcome) failure = outcome.error();
  }
  ASSERT_TRUE(failure.has_value()) << "a 4 MiB quota never filled";
  std::cout << "[ outcomes ] " << outcomes.summary() << "\n";
  EXPECT_EQ(failure->code, ErrorCode::kOrderingUnavailable) << failure->to_string();
  EXPECT_NE(failure->message.find("NOSPACE"), std::string::npos) << failure->message;
  EXPECT_NE(failure->message.find("database space"), std::string::npos) << failure->message;
  EXPECT_GT(outcomes.committed.size(), 0u);
  for (const core::Digest& id : outcomes.committed) EXPECT_TRUE(*c.replica(0).ledger->find(id));
  auto health = c.replica(0).orderer->health();
  ASSERT_FALSE(health);
  EXPECT_EQ(health.error().code, ErrorCode::kOrderingUnavailable);
  // Every later write is refused the same way, promptly: etcd wrote nothing.
  auto again = c.submit(0, kv_put("after-nospace", std::string(200 * 1024, 'x')));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kOrderingUnavailable) << again.error().to_string();
  auto alarms = c.etcd().etcdctl({"alarm", "list"});
  EXPECT_NE(alarms.out.find("NOSPACE"), std::string::npos) << alarms.out << alarms.err;
  ledger::KeyValueContract fresh;
  EXPECT_TRUE(ledger::verify_ledger(*c.replica(0).ledger, fresh));
}

TEST(EtcdFaults, InvalidBlockFromANonMemberHalts) {
  Consortium c;
  ASSERT_TRUE(c.start(0));
  for (int k = 0; k < 2; ++k) ASSERT_TRUE(c.submit(0, kv_put("k" + std::to_string(k), "v")));
  Replica& r = c.replica(0);
  const auto tip = r.ledger->tip();
  ASSERT_TRUE(tip);
  const std::uint64_t height = tip->block.header.height;

  // A copy of the chain that appends one block signed by a key no genesis lists.
  TempDir rogue_dir;
  ledger::KeyValueContract rogue_contract;
  const ledger::BlockCheckOptions check{now_ms(), std::chrono::seconds(30)};
  auto genesis = r.ledger->ordered_block(0);
  ASSERT_TRUE(genesis);
  auto rogue =
      ledger::Ledger::create_replica(rogue_dir.path() / "rogue", *genesis, rogue_contract, check);
  ASSERT_TRUE(rogue) << rogue.error().to_string();
  for (std::uint64_t h = 1; h <= height; ++h) {
    auto block = r.ledger->ordered_block(h);
    ASSERT_TRUE(block);
    ASSERT_TRUE((*rogue)->apply_block(*block, rogue_contract, check));
  }
  auto outsider = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  ASSERT_TRUE(outsider);
  auto pending = ledger::prepare_transaction(kv_put("forged", "v"));
  ASSERT_TRUE(pending);
  ASSERT_TRUE((*rogue)->append_block({*pending}, now_ms(), rogue_contract, **outsider));
  auto forged = (*rogue)->ordered_block(height + 1);
  ASSERT_TRUE(forged);

  // Written as a proposer would: created at the next height, nothing there yet.
  auto etcd = EtcdClient::connect(c.options(0).etcd);
  ASSERT_TRUE(etcd);
  const std::string key = block_key(height + 1);
  auto put = (*etcd)->txn({{key, 0}}, {{key, ledger::encode_ordered_block(*forged)}});
  ASSERT_TRUE(put) << put.error().to_string();
  ASSERT_TRUE(put->succeeded);

  EXPECT_TRUE(eventually([&] { return !r.orderer->health(); }));
  auto health = r.orderer->health();
  ASSERT_FALSE(health);
  EXPECT_EQ(health.error().code, ErrorCode::kReplicaHalted);
  EXPECT_NE(health.error().message.find("proposer"), std::string::npos) << health.error().message;
  EXPECT_NE(health.error().message.find("not a member"), std::string::npos)
      << health.error().message;
  EXPECT_EQ(r.ledger->tip()->block.hash, tip->block.hash);
  EXPECT_FALSE(*r.ledger->find(pending->id));
  ASSERT_TRUE(std::filesystem::exists(c.evidence_dir(0)));
  EXPECT_FALSE(std::filesystem::is_empty(c.evidence_dir(0)));
  auto refused = c.submit(0, kv_put("after", "v"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kReplicaHalted);
}

/// The block keys under the prefix with their values and revisions.
std::vector<KeyValue> etcd_blocks(EtcdClient& etcd) {
  const std::string blocks = std::string(kPrefix) + "/blocks/";
  auto read = etcd.range(blocks, prefix_range_end(blocks));
  EXPECT_TRUE(read);
  return read ? read->kvs : std::vector<KeyValue>{};
}

TEST(EtcdFaults, ReplicaDivergedFromEtcdRefusesToStart) {
  Consortium c;
  ASSERT_TRUE(c.start(0));
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(c.submit(0, kv_put("k" + std::to_string(k), "v")));
  auto etcd = EtcdClient::connect(c.options(0).etcd);
  ASSERT_TRUE(etcd);
  const auto before = etcd_blocks(**etcd);
  ASSERT_EQ(before.size(), 4u);

  // Another consortium's ledger (its own genesis) pointed at the same prefix: once at
  // genesis (etcd's block 0 differs), once longer than etcd's chain.
  TempDir other_dir;
  auto signer = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  ASSERT_TRUE(signer);
  ledger::GenesisConfig config;
  config.consortium = "another-consortium";
  config.hospitals = {
      {"hospital-z", {"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}}};
  config.proposers = {signer->get()};
  config.contract = ledger::kKeyValueContractName;
  ledger::KeyValueContract contract;
  auto other =
      ledger::Ledger::create(other_dir.path() / "other", ledger::make_genesis_document(config),
                             contract, **signer, kTxTimeMs);
  ASSERT_TRUE(other) << other.error().to_string();
  EtcdOrdererOptions options = c.options(0);
  options.node_name = "intruder";
  options.evidence_dir = other_dir.path() / "evidence";

  auto at_genesis = EtcdOrderer::start(**other, contract, **signer, options);
  ASSERT_FALSE(at_genesis);
  EXPECT_EQ(at_genesis.error().code, ErrorCode::kReplicaHalted) << at_genesis.error().to_string();
  EXPECT_NE(at_genesis.error().message.find("fork"), std::string::npos)
      << at_genesis.error().message;

  for (int k = 0; k < 5; ++k) {
    auto pending = ledger::prepare_transaction(kv_put("o" + std::to_string(k), "v"));
    ASSERT_TRUE(pending);
    ASSERT_TRUE((*other)->append_block({*pending}, now_ms(), contract, **signer));
  }
  auto longer = EtcdOrderer::start(**other, contract, **signer, options);
  ASSERT_FALSE(longer);
  EXPECT_EQ(longer.error().code, ErrorCode::kReplicaHalted) << longer.error().to_string();

  // etcd is as it was: the same blocks at the same revisions, no applied height recorded.
  const auto after = etcd_blocks(**etcd);
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t k = 0; k < after.size(); ++k) {
    EXPECT_EQ(after[k].key, before[k].key);
    EXPECT_EQ(after[k].value, before[k].value);
    EXPECT_EQ(after[k].mod_revision, before[k].mod_revision);
  }
  auto applied = (*etcd)->range(std::string(kPrefix) + "/applied/intruder", {});
  ASSERT_TRUE(applied);
  EXPECT_TRUE(applied->kvs.empty());
  EXPECT_TRUE(c.replica(0).orderer->health());
}

TEST(EtcdFaults, Pruning) {
  Consortium c;
  for (int i = 0; i < Consortium::kReplicas; ++i) {
    c.options(i).keep_blocks = 2;
    c.options(i).applied_interval = std::chrono::milliseconds(100);
    ASSERT_TRUE(c.start(i));
  }
  Outcomes outcomes;
  for (int k = 0; k < 15; ++k) {
    const std::string wire = kv_put("k" + std::to_string(k), "v");
    outcomes.record(tx_id(wire), c.submit(k % Consortium::kReplicas, wire));
  }
  ASSERT_EQ(outcomes.committed.size(), 15u) << outcomes.summary();
  auto etcd = EtcdClient::connect(c.options(0).etcd);
  ASSERT_TRUE(etcd);
  const std::string blocks = std::string(kPrefix) + "/blocks/";
  std::string lowest;
  EXPECT_TRUE(eventually([&] {
    auto first = (*etcd)->range(blocks, prefix_range_end(blocks), 1);
    if (!first || first->kvs.empty()) return false;
    lowest = first->kvs.front().key;
    return lowest != block_key(0);
  })) << "etcd still holds block 0";
  std::cout << "[ pruned  ] etcd's lowest block key: " << lowest << "\n";

  // Block 0 is gone: a hospital joining now cannot start from etcd alone.
  TempDir fresh_dir;
  ledger::KeyValueContract contract;
  EtcdOrdererOptions options = c.options(0);
  options.node_name = "newcomer";
  auto joined = EtcdOrderer::join(fresh_dir.path() / "newcomer", contract, options);
  ASSERT_FALSE(joined);
  EXPECT_EQ(joined.error().code, ErrorCode::kLedgerNotFound) << joined.error().to_string();

  for (int i = 0; i < Consortium::kReplicas; ++i) {
    const std::string wire = kv_put("after-" + std::to_string(i), "v");
    outcomes.record(tx_id(wire), c.submit(i, wire));
  }
  EXPECT_EQ(outcomes.committed.size(), 15u + Consortium::kReplicas) << outcomes.summary();
  expect_consistent(c, outcomes);
}

}  // namespace
}  // namespace medledger::cluster::testing
