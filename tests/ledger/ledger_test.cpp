// Blocks through Ledger: genesis, commit/read, links, signatures, duplicates,
// contract rejections, map growth, proofs against the stored tree.
#include "medledger/ledger/ledger.h"

#include <gtest/gtest.h>

#include "ledger_fixture.h"

namespace medledger::ledger {
namespace {

using testing::kv_put;
using testing::TestLedger;

std::optional<std::string> kv_value(const Ledger& ledger, const std::string& key) {
  auto txn = ledger.store().read();
  EXPECT_TRUE(txn);
  std::string k = "kv";
  k.push_back('\0');
  k += key;
  auto v = txn->get(Table::kState, core::to_bytes(k));
  EXPECT_TRUE(v);
  if (!*v) return std::nullopt;
  return core::to_string(**v);
}

TEST(Ledger, GenesisBlockHoldsTheConfigurationAndVerifies) {
  TestLedger t;
  auto genesis = t.ledger->block(0);
  ASSERT_TRUE(genesis) << genesis.error().to_string();
  EXPECT_EQ(genesis->header.height, 0u);
  EXPECT_EQ(genesis->header.prev_hash, core::Digest{});
  EXPECT_EQ(genesis->header.log_size, 1u);
  EXPECT_EQ(genesis->header.tx_count, 1u);
  EXPECT_TRUE(verify_header_signature(genesis->header, t.signer->public_key_spki()));
  EXPECT_EQ(genesis->hash, block_hash(genesis->header));
  ASSERT_EQ(t.ledger->proposer_keys().size(), 1u);
  EXPECT_EQ(t.ledger->proposer_keys()[0], t.signer->public_key_spki());
  EXPECT_EQ(t.ledger->genesis_document().at("consortium").as_string(), "test-consortium");
  auto tx = t.ledger->transaction(0);
  ASSERT_TRUE(tx);
  EXPECT_EQ(tx->result, kTxAccepted);
  EXPECT_EQ(t.ledger->origin().rfind("medledger/", 0), 0u);
}

TEST(Ledger, CreatingTwiceInOneDirectoryIsAlreadyExists) {
  TestLedger t;
  KeyValueContract contract;
  GenesisConfig config;
  config.consortium = "again";
  config.proposers = {t.signer.get()};
  auto again = Ledger::create(t.dir.path() / "ledger", make_genesis_document(config), contract,
                              *t.signer, 1);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::ErrorCode::kAlreadyExists);
}

TEST(Ledger, OpeningAnEmptyDirectoryIsLedgerNotFound) {
  testing::TempDir dir;
  auto opened = Ledger::open(dir.path());
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, core::ErrorCode::kLedgerNotFound);
}

TEST(Ledger, BlocksCommitLinkAndReadBackAfterReopen) {
  TestLedger t;
  auto b1 = t.append({kv_put("a", "1"), kv_put("b", "2")});
  auto b2 = t.append({kv_put("c", "3")});
  ASSERT_TRUE(b1.committed && b2.committed);
  EXPECT_EQ(b1.header.height, 1u);
  EXPECT_EQ(b1.header.log_size, 3u);
  EXPECT_EQ(b2.header.log_size, 4u);
  EXPECT_EQ(b2.header.prev_hash, b1.hash);
  EXPECT_EQ(b1.outcomes[1].sequence, 2u);
  auto path = t.ledger->store().dir();
  t.ledger.reset();
  auto reopened = Ledger::open(path);
  ASSERT_TRUE(reopened) << reopened.error().to_string();
  auto tip = (*reopened)->tip();
  ASSERT_TRUE(tip);
  EXPECT_EQ(tip->block.header.height, 2u);
  EXPECT_EQ(tip->block.hash, b2.hash);
  auto stored = (*reopened)->block(1);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->header_json, encode_header(b1.header));
  EXPECT_TRUE(verify_header_signature(stored->header, t.signer->public_key_spki()));
  EXPECT_EQ(*kv_value(**reopened, "b"), "2");
  EXPECT_EQ(*(*reopened)->block_of(3), 2u);
  EXPECT_EQ(*(*reopened)->block_of(1), 1u);
  EXPECT_EQ(*(*reopened)->block_of(0), 0u);
  EXPECT_EQ((*reopened)->block(3).error().code, core::ErrorCode::kLedgerNotFound);
}

TEST(Ledger, DuplicateTxIdNeverEntersABlock) {
  TestLedger t;
  std::string wire = kv_put("a", "1");
  auto first = t.append({wire});
  ASSERT_TRUE(first.committed);
  auto replay = t.append({wire});
  EXPECT_FALSE(replay.committed);
  ASSERT_EQ(replay.outcomes.size(), 1u);
  EXPECT_TRUE(replay.outcomes[0].duplicate);
  auto tip = t.ledger->tip();
  EXPECT_EQ(tip->block.header.height, 1u);
  EXPECT_EQ(tip->block.header.log_size, 2u);
  // Twice within one batch: the second copy is left out.
  std::string other = kv_put("b", "2");
  auto twice = t.append({other, other});
  ASSERT_TRUE(twice.committed);
  EXPECT_FALSE(twice.outcomes[0].duplicate);
  EXPECT_TRUE(twice.outcomes[1].duplicate);
  EXPECT_EQ(twice.header.tx_count, 1u);
}

TEST(Ledger, ContractRejectionIsRecordedWithItsCodeAndChangesNoState) {
  TestLedger t;
  t.append({kv_put("a", "1")});
  std::string bad_cas = testing::make_wire(
      "record.put", boost::json::object{{"key", "a"}, {"value", "2"}, {"expect", "wrong"}});
  std::string no_key = testing::make_wire("record.put", boost::json::object{{"value", "2"}});
  auto block = t.append({bad_cas, no_key, kv_put("z", "9")});
  ASSERT_TRUE(block.committed);
  EXPECT_EQ(block.header.tx_count, 3u);
  EXPECT_EQ(block.outcomes[0].result, static_cast<std::uint16_t>(core::ErrorCode::kTxRejected));
  EXPECT_EQ(block.outcomes[1].result, static_cast<std::uint16_t>(core::ErrorCode::kTxRejected));
  EXPECT_EQ(block.outcomes[2].result, kTxAccepted);
  EXPECT_EQ(*kv_value(*t.ledger, "a"), "1");
  EXPECT_EQ(*kv_value(*t.ledger, "z"), "9");
  auto stored = t.ledger->transaction(block.outcomes[0].sequence);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->result, static_cast<std::uint16_t>(core::ErrorCode::kTxRejected));
  EXPECT_EQ(stored->wire, bad_cas);
  // The rejected transaction is logged: replaying it is a duplicate.
  auto replay = t.append({bad_cas});
  EXPECT_TRUE(replay.outcomes[0].duplicate);
}

TEST(Ledger, CompareAndSetSucceedsOnMatchingValue) {
  TestLedger t;
  t.append({kv_put("a", "1")});
  auto block = t.append({testing::make_wire(
      "record.put", boost::json::object{{"key", "a"}, {"value", "2"}, {"expect", "1"}})});
  EXPECT_EQ(block.outcomes[0].result, kTxAccepted);
  EXPECT_EQ(*kv_value(*t.ledger, "a"), "2");
}

TEST(Ledger, MerkleRootAndProofsMatchTheStoredLog) {
  TestLedger t;
  MemoryMerkleTree expected;
  std::vector<std::string> wires;
  for (int b = 0; b < 5; ++b) {
    std::vector<std::string> batch;
    for (int i = 0; i < 7; ++i) batch.push_back(kv_put("k" + std::to_string(b * 7 + i), "v"));
    t.append(batch);
  }
  auto tip = t.ledger->tip();
  std::uint64_t size = tip->block.header.log_size;
  ASSERT_EQ(size, 36u);
  for (std::uint64_t s = 0; s < size; ++s) {
    auto tx = t.ledger->transaction(s);
    ASSERT_TRUE(tx);
    expected.append(merkle_leaf_hash(log_entry(tx->result, tx->wire)));
  }
  EXPECT_EQ(*root_at(expected, size), tip->block.header.merkle_root);
  for (std::uint64_t s : {0u, 5u, 17u, 35u}) {
    auto proof = t.ledger->inclusion_proof(s, size);
    ASSERT_TRUE(proof);
    auto tx = t.ledger->transaction(s);
    EXPECT_TRUE(verify_inclusion(s, size, merkle_leaf_hash(log_entry(tx->result, tx->wire)), *proof,
                                 tip->block.header.merkle_root));
  }
  auto b2 = t.ledger->block(2);
  auto consistency = t.ledger->consistency_proof(b2->header.log_size, size);
  ASSERT_TRUE(consistency);
  EXPECT_TRUE(verify_consistency(b2->header.log_size, size, b2->header.merkle_root,
                                 tip->block.header.merkle_root, *consistency));
}

TEST(Ledger, ScanLogVisitsTheStoredEntriesInOrderAndStopsWhenAskedOrAtTheEnd) {
  TestLedger t;
  std::vector<std::string> batch;
  for (int i = 0; i < 6; ++i) batch.push_back(kv_put("s" + std::to_string(i), "v"));
  t.append(batch);
  const std::uint64_t size = t.ledger->tip()->block.header.log_size;
  ASSERT_EQ(size, 7u);  // genesis + 6
  std::vector<std::uint64_t> seen;
  ASSERT_TRUE(t.ledger->scan_log(
      2, 5, [&](std::uint64_t sequence, std::uint16_t result, std::string_view wire) {
        auto stored = t.ledger->transaction(sequence);
        EXPECT_TRUE(stored);
        EXPECT_EQ(wire, stored->wire);
        EXPECT_EQ(result, stored->result);
        seen.push_back(sequence);
        return true;
      }));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{2, 3, 4}));
  seen.clear();
  ASSERT_TRUE(
      t.ledger->scan_log(0, size, [&](std::uint64_t sequence, std::uint16_t, std::string_view) {
        seen.push_back(sequence);
        return sequence < 1;  // stop after the second entry
      }));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{0, 1}));
  seen.clear();
  ASSERT_TRUE(t.ledger->scan_log(5, size + 10,
                                 [&](std::uint64_t sequence, std::uint16_t, std::string_view) {
                                   seen.push_back(sequence);
                                   return true;
                                 }));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{5, 6}));  // the log ends at 7
  seen.clear();
  ASSERT_TRUE(
      t.ledger->scan_log(4, 4, [&](std::uint64_t sequence, std::uint16_t, std::string_view) {
        seen.push_back(sequence);
        return true;
      }));
  EXPECT_TRUE(seen.empty());
}

TEST(Ledger, LastCommittedTransactionIdMovesOnlyWhenSomethingIsWritten) {
  TestLedger t;
  const std::uint64_t before = t.ledger->store().last_committed_txn();
  EXPECT_EQ(t.ledger->store().last_committed_txn(), before);
  ASSERT_TRUE(t.ledger->tip());  // a read changes nothing
  EXPECT_EQ(t.ledger->store().last_committed_txn(), before);
  t.append({kv_put("x", "1")});
  EXPECT_GT(t.ledger->store().last_committed_txn(), before);
}

TEST(Ledger, BlocksKeepCommittingWhileTheMapGrows) {
  LedgerOptions options;
  options.store.initial_map_bytes = kMinMapBytes;
  TestLedger t(options);
  const std::string big(2000, 'r');
  for (int b = 0; b < 20; ++b) {
    std::vector<std::string> batch;
    for (int i = 0; i < 50; ++i) batch.push_back(kv_put("k" + std::to_string(b * 50 + i), big));
    auto block = t.append(batch);
    ASSERT_TRUE(block.committed);
  }
  EXPECT_GT(t.ledger->store().growth_count(), 0u);
  EXPECT_EQ(t.ledger->tip()->block.header.log_size, 1001u);
  EXPECT_EQ(*kv_value(*t.ledger, "k999"), big);
}

TEST(Ledger, PrepareRejectsBadTransactionsWithStableCodes) {
  EXPECT_EQ(prepare_transaction("{not json").error().code, core::ErrorCode::kTxMalformed);
  std::string wire = kv_put("a", "1");
  EXPECT_EQ(prepare_transaction(" " + wire).error().code, core::ErrorCode::kTxNotCanonical);
  std::string unknown = wire;
  unknown.replace(unknown.find("record.put"), 10, "record.zap");
  EXPECT_EQ(prepare_transaction(unknown).error().code, core::ErrorCode::kTxUnknownType);
  TransactionLimits small;
  small.max_bytes = 64;
  EXPECT_EQ(prepare_transaction(wire, small).error().code, core::ErrorCode::kTxTooLarge);
}

}  // namespace
}  // namespace medledger::ledger
