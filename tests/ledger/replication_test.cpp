// Replication: the exchanged block format, replicas built from another ledger's
// blocks, apply_block's checks (one refusal per check, each leaving the replica as it
// was), append_block_published and create_replica.
#include "medledger/ledger/replication.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include "ledger_fixture.h"
#include "records_fixture.h"
#include "medledger/core/canonical_json.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/verify.h"

namespace medledger::ledger {
namespace {

using testing::kTestTimeMs;
using testing::kv_put;
using testing::pending;
using testing::TempDir;
using testing::TestLedger;

constexpr std::int64_t kBlockStepMs = 1000;
constexpr std::uint16_t kRejected = static_cast<std::uint16_t>(core::ErrorCode::kTxRejected);

/// A clock well past every block the tests build, inside the default skew.
BlockCheckOptions check_now() {
  BlockCheckOptions check;
  check.now_ms = kTestTimeMs + 10 * kBlockStepMs;
  return check;
}

std::string kv_put_expecting(const std::string& key, const std::string& value,
                             const std::string& expect) {
  return testing::make_wire(
      "record.put", boost::json::object{{"key", key}, {"value", value}, {"expect", expect}});
}

/// The kv contract's value of `key` (table "kv"), nullopt if unset.
std::optional<std::string> kv_value(const Ledger& ledger, const std::string& key) {
  auto txn = ledger.store().read();
  EXPECT_TRUE(txn);
  auto v = txn->get(Table::kState, core::to_bytes(std::string("kv") + '\0' + key));
  EXPECT_TRUE(v);
  return *v ? std::optional<std::string>(core::to_string(**v)) : std::nullopt;
}

/// Appends `wires` to `t` as block `height` (its time: kBlockStepMs per height).
CommittedBlock append_at(TestLedger& t, std::uint64_t height,
                         const std::vector<std::string>& wires) {
  std::vector<PendingTransaction> batch;
  for (const auto& w : wires) batch.push_back(pending(w));
  auto block = t.ledger->append_block(
      batch, kTestTimeMs + static_cast<std::int64_t>(height) * kBlockStepMs, t.contract, *t.signer);
  EXPECT_TRUE(block) << block.error().to_string();
  EXPECT_TRUE(block && block->committed && block->header.height == height);
  return block ? std::move(*block) : CommittedBlock{};
}

OrderedBlock ordered(const Ledger& ledger, std::uint64_t height) {
  auto block = ledger.ordered_block(height);
  EXPECT_TRUE(block) << block.error().to_string();
  return block ? std::move(*block) : OrderedBlock{};
}

/// `block` with its header changed by `edit`, re-signed by `signer` unless null (then
/// the old signature is kept), in canonical form.
OrderedBlock with_header(OrderedBlock block, const std::function<void(BlockHeader&)>& edit,
                         core::Signer* signer) {
  auto header = decode_header(block.header_json);
  EXPECT_TRUE(header) << header.error().to_string();
  if (!header) return block;
  edit(*header);
  if (signer != nullptr) {
    EXPECT_TRUE(sign_header(*header, *signer));
  }
  block.header_json = encode_header(*header);
  return block;
}

std::unique_ptr<core::SoftwareSigner> other_key() {
  auto key = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  if (!key) std::abort();
  return std::move(*key);
}

/// A replica of `source` in its own directory, from source's block 0.
struct Replica {
  TempDir dir;
  KeyValueContract contract;
  std::unique_ptr<Ledger> ledger;

  explicit Replica(const Ledger& source) {
    auto made =
        Ledger::create_replica(dir.path() / "replica", ordered(source, 0), contract, check_now());
    if (!made) {
      ADD_FAILURE() << made.error().to_string();
      std::abort();
    }
    ledger = std::move(*made);
  }

  core::Result<CommittedBlock> apply(const OrderedBlock& block,
                                     const BlockCheckOptions& check = check_now()) {
    return ledger->apply_block(block, contract, check);
  }
};

/// What a refused block must leave as it was.
struct Snapshot {
  core::Digest tip_hash{};
  std::uint64_t height = 0;
  std::uint64_t log_size = 0;
  core::Digest state_digest{};
  MerkleHash root{};
  std::optional<std::string> a;  // kv "a", set by block 1 and changed by block 3
  std::optional<std::string> b;  // kv "b", set by block 2
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(const Ledger& ledger) {
  Snapshot s;
  auto tip = ledger.tip();
  EXPECT_TRUE(tip);
  if (!tip) return s;
  s.tip_hash = tip->block.hash;
  s.height = tip->block.header.height;
  s.log_size = tip->block.header.log_size;
  s.state_digest = tip->block.header.state_digest;
  auto root = ledger.root_at(s.log_size);
  EXPECT_TRUE(root);
  if (root) s.root = *root;
  s.a = kv_value(ledger, "a");
  s.b = kv_value(ledger, "b");
  return s;
}

// ---- a replica built from another ledger's blocks ----

/// Applies `source`'s blocks after the replica's tip, each to the same block hash.
void apply_all(const Ledger& source, Ledger& replica, Contract& contract,
               const BlockCheckOptions& check) {
  auto source_tip = source.tip();
  auto replica_tip = replica.tip();
  ASSERT_TRUE(source_tip && replica_tip);
  for (std::uint64_t h = replica_tip->block.header.height + 1; h <= source_tip->block.header.height;
       ++h) {
    auto applied = replica.apply_block(ordered(source, h), contract, check);
    ASSERT_TRUE(applied) << applied.error().to_string();
    EXPECT_TRUE(applied->committed);
    EXPECT_EQ(applied->hash, source.block(h)->hash) << "block " << h;
  }
}

/// The same chain: tip, genesis, state digest, every Merkle root, every log entry.
void expect_same_chain(const Ledger& source, const Ledger& replica) {
  auto source_tip = source.tip();
  auto replica_tip = replica.tip();
  ASSERT_TRUE(source_tip && replica_tip);
  EXPECT_EQ(replica_tip->block.hash, source_tip->block.hash);
  EXPECT_EQ(replica_tip->genesis_hash, source_tip->genesis_hash);
  EXPECT_EQ(replica_tip->block.header.state_digest, source_tip->block.header.state_digest);
  EXPECT_EQ(replica.origin(), source.origin());
  const std::uint64_t size = source_tip->block.header.log_size;
  ASSERT_EQ(replica_tip->block.header.log_size, size);
  for (std::uint64_t s = 1; s <= size; ++s) {
    auto source_root = source.root_at(s);
    auto replica_root = replica.root_at(s);
    ASSERT_TRUE(source_root && replica_root);
    EXPECT_EQ(*replica_root, *source_root) << "size " << s;
  }
  for (std::uint64_t s = 0; s < size; ++s) {
    auto source_tx = source.transaction(s);
    auto replica_tx = replica.transaction(s);
    ASSERT_TRUE(source_tx && replica_tx);
    EXPECT_EQ(replica_tx->result, source_tx->result) << "sequence " << s;
    EXPECT_EQ(replica_tx->wire, source_tx->wire) << "sequence " << s;
  }
}

TEST(Replication, ReplicaAppliesAnotherLedgersBlocksToTheSameChainStateAndRoots) {
  TestLedger source;
  append_at(source, 1, {kv_put("a", "1"), kv_put_expecting("a", "x", "wrong")});
  append_at(source, 2,
            {kv_put("b", "2"), testing::make_wire("record.put", boost::json::object{{"v", "1"}})});
  append_at(source, 3, {kv_put_expecting("a", "3", "1"), kv_put("c", "4")});
  append_at(source, 4, {kv_put_expecting("b", "y", "1")});

  Replica replica(*source.ledger);
  apply_all(*source.ledger, *replica.ledger, replica.contract, check_now());
  expect_same_chain(*source.ledger, *replica.ledger);
  // The source logged rejected transactions: the replica re-derived the same codes.
  EXPECT_EQ(replica.ledger->transaction(2)->result, kRejected);
  EXPECT_EQ(kv_value(*replica.ledger, "a"), "3");
  EXPECT_EQ(kv_value(*replica.ledger, "b"), "2");

  auto report = verify_ledger(*replica.ledger, replica.contract);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->tip_hash, source.ledger->tip()->block.hash);
  EXPECT_EQ(report->blocks, 5u);
  EXPECT_EQ(report->rejected, 3u);
}

/// The medical-records contract, re-executed on a replica: certificates, records and a
/// rejection come out the same.
class RecordsReplication : public testing::RecordsLedgerTest {};

TEST_F(RecordsReplication, ARecordsContractReplicaReachesTheSameChainAndVerifies) {
  testing::Identity doctor = enrol(*a, ca::Role::kDoctor, "dr-1");
  testing::Identity patient = enrol(*a, ca::Role::kPatient, "p-1");
  testing::Identity node = enrol(*a, ca::Role::kNode, "node-1");
  EXPECT_EQ(put(put_body("rec-1", 1, patient), {&doctor, &patient, &node}).first, kTxAccepted);
  EXPECT_NE(put(put_body("rec-2", 1, patient), {&patient, &node}).first, kTxAccepted);

  TempDir replica_dir;
  RecordsContract replica_contract;
  BlockCheckOptions check;
  check.now_ms = now_ms;
  auto replica = Ledger::create_replica(replica_dir.path() / "replica", ordered(*ledger, 0),
                                        replica_contract, check);
  ASSERT_TRUE(replica) << replica.error().to_string();
  apply_all(*ledger, **replica, replica_contract, check);
  expect_same_chain(*ledger, **replica);
  RecordsContract fresh;
  auto report = verify_ledger(**replica, fresh);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->rejected, 1u);
}

// ---- the exchanged encoding ----

/// A block of `source` re-encoded with its JSON object changed by `edit`.
std::string edited_encoding(const OrderedBlock& block,
                            const std::function<void(boost::json::object&)>& edit) {
  boost::json::object o = boost::json::parse(encode_ordered_block(block)).as_object();
  edit(o);
  return core::canonicalize(o);
}

void expect_undecodable(std::string_view text, std::string_view why) {
  auto decoded = decode_ordered_block(text);
  ASSERT_FALSE(decoded) << "decoded a block " << why;
  EXPECT_EQ(decoded.error().code, core::ErrorCode::kBlockInvalid) << why;
}

TEST(Replication, OrderedBlockRoundTripsThroughItsCanonicalEncoding) {
  TestLedger source;
  append_at(source, 1, {kv_put("a", "1"), kv_put_expecting("a", "x", "wrong")});
  OrderedBlock block = ordered(*source.ledger, 1);
  ASSERT_EQ(block.wires.size(), 2u);
  EXPECT_EQ(block.results, (std::vector<std::uint16_t>{kTxAccepted, kRejected}));
  const std::string text = encode_ordered_block(block);
  EXPECT_TRUE(core::is_canonical_json(text, kMaxOrderedBlockBytes));
  auto decoded = decode_ordered_block(text);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->header_json, block.header_json);
  EXPECT_EQ(decoded->results, block.results);
  EXPECT_EQ(decoded->wires, block.wires);
  EXPECT_EQ(encode_ordered_block(*decoded), text);
  // The size estimate the proposer cuts blocks by covers each transaction's share.
  OrderedBlock one_less = block;
  one_less.wires.pop_back();
  one_less.results.pop_back();
  EXPECT_LE(text.size() - encode_ordered_block(one_less).size(),
            ordered_block_tx_bytes(block.wires.back().size()));
}

TEST(Replication, DecodeRefusesEveryMalformedBlockAsBlockInvalid) {
  TestLedger source;
  append_at(source, 1, {kv_put("a", "1"), kv_put("b", "2")});
  const OrderedBlock block = ordered(*source.ledger, 1);
  const std::string text = encode_ordered_block(block);
  ASSERT_TRUE(decode_ordered_block(text));

  expect_undecodable("{ " + text.substr(1), "with whitespace (not canonical)");
  expect_undecodable(text + "\n", "with a trailing newline (not canonical)");
  for (const char* member : {"header", "results", "txs", "version"}) {
    expect_undecodable(edited_encoding(block, [&](auto& o) { o.erase(member); }),
                       std::string("without ") + member);
  }
  expect_undecodable(edited_encoding(block, [](auto& o) { o["extra"] = 1; }),
                     "with an extra member");
  expect_undecodable(
      edited_encoding(block, [](auto& o) { o["results"].as_array().emplace_back(0); }),
      "with more results than transactions");
  expect_undecodable(edited_encoding(block, [](auto& o) { o["results"].as_array().pop_back(); }),
                     "with fewer results than transactions");
  expect_undecodable(edited_encoding(block, [](auto& o) { o["txs"].as_array()[1] = "not+b64/"; }),
                     "with a transaction that is not base64url");
  expect_undecodable(edited_encoding(block, [](auto& o) { o["results"].as_array()[0] = 65536; }),
                     "with a result over 16 bits");
  expect_undecodable(edited_encoding(block, [](auto& o) { o["header"] = 1; }),
                     "with a header that is not a string");
  expect_undecodable(
      edited_encoding(block, [](auto& o) { o["version"] = kOrderedBlockVersion + 1; }),
      "of another version");

  OrderedBlock huge = block;
  huge.header_json.assign(kMaxOrderedBlockBytes, 'h');
  const std::string huge_text = encode_ordered_block(huge);
  ASSERT_GT(huge_text.size(), kMaxOrderedBlockBytes);
  auto too_big = decode_ordered_block(huge_text);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, core::ErrorCode::kBlockInvalid);
  EXPECT_NE(too_big.error().message.find("over"), std::string::npos) << too_big.error().message;
}

// ---- apply_block: one refusal per check ----

/// A source ledger with blocks 1..3 and a replica that applied block 1; each test
/// offers the replica a wrong block 2 and checks it is refused and changes nothing,
/// then that the genuine block 2 still applies.
class ReplicationRefusal : public ::testing::Test {
 protected:
  void SetUp() override {
    append_at(source_, 1, {kv_put("a", "1"), kv_put_expecting("a", "x", "wrong")});
    append_at(source_, 2,
              {kv_put("b", "2"), kv_put_expecting("a", "y", "wrong"), kv_put("c", "3")});
    append_at(source_, 3, {kv_put("a", "4")});
    replica_ = std::make_unique<Replica>(*source_.ledger);
    ASSERT_TRUE(replica_->apply(ordered(*source_.ledger, 1)));
    block2_ = ordered(*source_.ledger, 2);
    ASSERT_EQ(block2_.results, (std::vector<std::uint16_t>{kTxAccepted, kRejected, kTxAccepted}));
  }

  /// `block` is refused with kBlockInvalid naming `why`, the replica is unchanged, and
  /// the genuine block 2 applies afterwards.
  void expect_refused(const OrderedBlock& block, std::string_view why,
                      const BlockCheckOptions& check = check_now()) {
    const Snapshot before = snapshot(*replica_->ledger);
    const auto logged_before = logged(block.wires);
    auto applied = replica_->apply(block, check);
    ASSERT_FALSE(applied) << "applied a block that should fail: " << why;
    EXPECT_EQ(applied.error().code, core::ErrorCode::kBlockInvalid);
    EXPECT_NE(applied.error().message.find(why), std::string::npos)
        << "refused for another reason: " << applied.error().message;
    EXPECT_TRUE(snapshot(*replica_->ledger) == before) << "a refused block changed the replica";
    EXPECT_EQ(logged(block.wires), logged_before) << "a refused block's transaction was logged";
    for (const auto& sequence : logged(block2_.wires))
      EXPECT_FALSE(sequence) << "block 2's transaction entered the log";
    auto genuine = replica_->apply(block2_);
    ASSERT_TRUE(genuine) << genuine.error().to_string();
    EXPECT_EQ(genuine->hash, source_.ledger->block(2)->hash);
    EXPECT_EQ(kv_value(*replica_->ledger, "b"), "2");
  }

  core::Signer* proposer() { return source_.signer.get(); }

  /// The replica's sequence of each wire transaction (nullopt: not logged, or no transaction).
  std::vector<std::optional<std::uint64_t>> logged(const std::vector<std::string>& wires) {
    std::vector<std::optional<std::uint64_t>> out;
    for (const std::string& wire : wires) {
      auto p = prepare_transaction(wire);
      if (!p) {
        out.emplace_back();
        continue;
      }
      auto found = replica_->ledger->find(p->id);
      EXPECT_TRUE(found);
      out.push_back(found ? *found : std::optional<std::uint64_t>{});
    }
    return out;
  }

  TestLedger source_;
  std::unique_ptr<Replica> replica_;
  OrderedBlock block2_;
};

TEST_F(ReplicationRefusal, AGapInHeightsIsRefused) {
  expect_refused(ordered(*source_.ledger, 3), "height 3 where 2 comes next");
}

TEST_F(ReplicationRefusal, ReplayingAnAppliedBlockIsRefused) {
  expect_refused(ordered(*source_.ledger, 1), "height 1 where 2 comes next");
}

TEST_F(ReplicationRefusal, AWrongPrevHashIsRefused) {
  expect_refused(with_header(
                     block2_, [](BlockHeader& h) { h.prev_hash[0] ^= 0x01; }, proposer()),
                 "prev_hash");
}

TEST_F(ReplicationRefusal, AProposerNotInTheGenesisConfigurationIsRefused) {
  auto stranger = other_key();
  expect_refused(with_header(
                     block2_, [](BlockHeader&) {}, stranger.get()),
                 "is not a member's node key");
}

TEST_F(ReplicationRefusal, ABadSignatureIsRefused) {
  expect_refused(
      with_header(
          block2_, [](BlockHeader& h) { h.signature[h.signature.size() / 2] ^= 0x01; }, nullptr),
      "proposer signature");
}

TEST_F(ReplicationRefusal, ATimeBeforeThePreviousBlocksIsRefused) {
  expect_refused(with_header(
                     block2_, [](BlockHeader& h) { h.time_ms = kTestTimeMs; }, proposer()),
                 "time goes back");
}

TEST_F(ReplicationRefusal, ATimeMoreThanTheSkewAheadOfTheClockIsRefused) {
  const std::int64_t time = decode_header(block2_.header_json)->time_ms;
  BlockCheckOptions check;
  check.max_future_skew = std::chrono::milliseconds(500);
  check.now_ms = time - 501;
  expect_refused(block2_, "ms ahead of this node's clock", check);
}

TEST_F(ReplicationRefusal, ATimeExactlyTheSkewAheadIsAccepted) {
  const std::int64_t time = decode_header(block2_.header_json)->time_ms;
  BlockCheckOptions check;
  check.max_future_skew = std::chrono::milliseconds(500);
  check.now_ms = time - 500;
  EXPECT_TRUE(replica_->apply(block2_, check));
}

TEST_F(ReplicationRefusal, AResultCountThatDoesNotMatchTheTransactionsIsRefused) {
  OrderedBlock changed = block2_;
  changed.results.push_back(kRejected);
  expect_refused(changed, "one result per transaction");
}

TEST_F(ReplicationRefusal, ATxCountThatDoesNotMatchItsTransactionsIsRefused) {
  expect_refused(with_header(
                     block2_,
                     [](BlockHeader& h) {
                       h.tx_count -= 1;
                       h.log_size -= 1;
                     },
                     proposer()),
                 "tx_count / log_size");
}

TEST_F(ReplicationRefusal, ALogSizeThatDoesNotAddUpIsRefused) {
  expect_refused(with_header(
                     block2_, [](BlockHeader& h) { h.log_size += 1; }, proposer()),
                 "tx_count / log_size");
}

TEST_F(ReplicationRefusal, ATransactionLeftOutOfTheExchangedBlockIsRefused) {
  OrderedBlock short_block = block2_;
  short_block.wires.pop_back();
  short_block.results.pop_back();
  expect_refused(short_block, "tx_count / log_size");
}

TEST_F(ReplicationRefusal, AChangedResultCodeIsRefused) {
  OrderedBlock changed = block2_;
  changed.results[1] = kTxAccepted;  // the contract rejects it here too
  expect_refused(changed, "transaction 1 gives result");
}

TEST_F(ReplicationRefusal, ADifferentValidTransactionIsRefusedByTheMerkleRoot) {
  OrderedBlock changed = block2_;
  changed.wires[2] = kv_put("c", "3");  // accepted as the original, another nonce
  expect_refused(changed, "merkle_root differs");
}

TEST_F(ReplicationRefusal, AStateDigestThatDiffersFromTheReExecutionIsRefused) {
  expect_refused(with_header(
                     block2_, [](BlockHeader& h) { h.state_digest[5] ^= 0x01; }, proposer()),
                 "state_digest differs");
}

TEST_F(ReplicationRefusal, ATransactionAlreadyInTheLogIsRefused) {
  OrderedBlock changed = block2_;
  changed.wires[0] = ordered(*source_.ledger, 1).wires[0];  // accepted in block 1
  expect_refused(changed, "transaction 0 is already in the log");
}

TEST_F(ReplicationRefusal, ATransactionTwiceInTheBlockIsRefused) {
  OrderedBlock changed = block2_;
  changed.wires[2] = changed.wires[0];
  expect_refused(changed, "transaction 2 is already in the log");
}

TEST_F(ReplicationRefusal, ATransactionThatDoesNotDecodeIsRefused) {
  OrderedBlock changed = block2_;
  changed.wires[1] = "{\"not\":\"a transaction\"}";
  expect_refused(changed, "transaction 1:");
}

TEST_F(ReplicationRefusal, AHeaderThatDoesNotDecodeIsRefused) {
  OrderedBlock changed = block2_;
  changed.header_json = "{\"height\":2}";
  expect_refused(changed, "block header");
}

// ---- append_block_published ----

TEST(Replication, PublishSeesTheBlockThatOrderedBlockLaterReturns) {
  TestLedger t;
  std::vector<PendingTransaction> batch{pending(kv_put("a", "1")),
                                        pending(kv_put_expecting("a", "x", "wrong"))};
  const PendingTransaction again = batch[0];
  batch.push_back(again);  // a duplicate is left out of the published block too
  std::optional<std::string> published;
  auto block = t.ledger->append_block_published(batch, kTestTimeMs + 1, t.contract, *t.signer,
                                                [&](const OrderedBlock& b) {
                                                  EXPECT_FALSE(published) << "published twice";
                                                  published = encode_ordered_block(b);
                                                  return core::success();
                                                });
  ASSERT_TRUE(block) << block.error().to_string();
  ASSERT_TRUE(block->committed);
  ASSERT_TRUE(published);
  EXPECT_EQ(*published, encode_ordered_block(ordered(*t.ledger, 1)));
  auto decoded = decode_ordered_block(*published);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->results, (std::vector<std::uint16_t>{kTxAccepted, kRejected}));
  EXPECT_EQ(decoded->header_json, encode_header(block->header));
}

TEST(Replication, AnErrorFromPublishAbortsTheBlockAndIsReturnedUnchanged) {
  TestLedger t;
  append_at(t, 1, {kv_put("a", "1")});
  const Snapshot before = snapshot(*t.ledger);
  std::vector<PendingTransaction> batch{pending(kv_put("b", "2")), pending(kv_put("a", "3"))};
  const core::Error refusal =
      core::make_error(core::ErrorCode::kOrderingUnavailable, "etcd: no quorum");
  int calls = 0;
  auto aborted =
      t.ledger->append_block_published(batch, kTestTimeMs + 2 * kBlockStepMs, t.contract, *t.signer,
                                       [&](const OrderedBlock&) -> core::Result<void> {
                                         ++calls;
                                         return refusal;
                                       });
  EXPECT_EQ(calls, 1);
  ASSERT_FALSE(aborted);
  EXPECT_EQ(aborted.error().code, refusal.code);
  EXPECT_EQ(aborted.error().message, refusal.message);
  EXPECT_TRUE(snapshot(*t.ledger) == before) << "an unpublished block changed the ledger";
  for (const auto& p : batch) EXPECT_FALSE(*t.ledger->find(p.id));

  auto next = t.ledger->append_block(batch, kTestTimeMs + 2 * kBlockStepMs, t.contract, *t.signer);
  ASSERT_TRUE(next) << next.error().to_string();
  ASSERT_TRUE(next->committed);
  EXPECT_EQ(next->header.height, 2u);
  EXPECT_EQ(next->header.log_size, before.log_size + 2);
  EXPECT_EQ(kv_value(*t.ledger, "a"), "3");
}

TEST(Replication, PublishIsNotCalledWhenEveryTransactionIsADuplicate) {
  TestLedger t;
  const std::string wire = kv_put("a", "1");
  append_at(t, 1, {wire});
  const Snapshot before = snapshot(*t.ledger);
  int calls = 0;
  auto block = t.ledger->append_block_published(
      {pending(wire), pending(wire)}, kTestTimeMs + 2 * kBlockStepMs, t.contract, *t.signer,
      [&](const OrderedBlock&) -> core::Result<void> {
        ++calls;
        return core::success();
      });
  ASSERT_TRUE(block) << block.error().to_string();
  EXPECT_FALSE(block->committed);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(snapshot(*t.ledger) == before);
}

// ---- create_replica ----

TEST(Replication, CreateReplicaRefusesAGenesisSignedByAKeyItsConfigurationDoesNotList) {
  TestLedger source;
  auto stranger = other_key();
  TempDir dir;
  KeyValueContract contract;
  auto made =
      Ledger::create_replica(dir.path() / "replica",
                             with_header(
                                 ordered(*source.ledger, 0), [](BlockHeader&) {}, stranger.get()),
                             contract, check_now());
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().code, core::ErrorCode::kBlockInvalid);
  EXPECT_NE(made.error().message.find("is not a member's node key"), std::string::npos)
      << made.error().message;
  // Nothing was founded: the genuine block 0 still founds a replica there.
  auto genuine = Ledger::create_replica(dir.path() / "replica", ordered(*source.ledger, 0),
                                        contract, check_now());
  ASSERT_TRUE(genuine) << genuine.error().to_string();
  EXPECT_EQ((*genuine)->genesis_hash(), source.ledger->genesis_hash());
}

TEST(Replication, CreateReplicaRefusesAGenesisBlockWithTwoTransactions) {
  TestLedger source;
  OrderedBlock two = ordered(*source.ledger, 0);
  two.wires.push_back(kv_put("a", "1"));
  two.results.push_back(kTxAccepted);
  TempDir dir;
  KeyValueContract contract;
  auto made = Ledger::create_replica(dir.path() / "replica", two, contract, check_now());
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().code, core::ErrorCode::kBlockInvalid);
}

TEST(Replication, CreateReplicaInADirectoryHoldingALedgerIsAlreadyExists) {
  TestLedger source;
  const OrderedBlock genesis = ordered(*source.ledger, 0);
  const auto path = source.ledger->store().dir();
  source.ledger.reset();  // one LMDB environment per directory and process
  KeyValueContract contract;
  auto made = Ledger::create_replica(path, genesis, contract, check_now());
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().code, core::ErrorCode::kAlreadyExists);
}

}  // namespace
}  // namespace medledger::ledger
