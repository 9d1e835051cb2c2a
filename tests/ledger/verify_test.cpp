// verify_ledger: a clean ledger passes; every kind of changed entry is found and
// the first bad block is named. (File-level byte flips: tamper_test.cpp.)
#include "medledger/ledger/verify.h"

#include <gtest/gtest.h>

#include "ledger_fixture.h"
#include "medledger/ledger/merkle_table.h"

namespace medledger::ledger {
namespace {

using testing::kv_put;
using testing::TestLedger;

void build_chain(TestLedger& t) {
  for (int b = 0; b < 6; ++b) {
    std::vector<std::string> batch;
    for (int i = 0; i < 5; ++i)
      batch.push_back(kv_put("k" + std::to_string(b * 5 + i), "v" + std::to_string(b)));
    batch.push_back(
        testing::make_wire("record.put", boost::json::object{{"value", "no key"}}));  // rejected
    t.append(batch);
  }
}

/// Overwrites one stored value directly in LMDB, as an attacker with file access could.
void overwrite(Ledger& ledger, Table table, core::ByteView key,
               const std::function<void(core::Bytes&)>& change) {
  auto written = ledger.store().write([&](WriteTxn& txn) -> core::Result<void> {
    auto current = txn.get(table, key);
    EXPECT_TRUE(current && *current);
    core::Bytes value((*current)->begin(), (*current)->end());
    change(value);
    return txn.put(table, key, value);
  });
  ASSERT_TRUE(written);
}

core::Error verify_error(const Ledger& ledger) {
  KeyValueContract contract;
  auto report = verify_ledger(ledger, contract);
  EXPECT_FALSE(report) << "verify passed a changed ledger";
  return report ? core::Error{} : report.error();
}

TEST(Verify, CleanLedgerPassesWithCounts) {
  TestLedger t;
  build_chain(t);
  KeyValueContract contract;
  std::vector<std::uint64_t> progress;
  VerifyOptions options;
  options.progress = [&](std::uint64_t h, std::uint64_t) { progress.push_back(h); };
  auto report = verify_ledger(*t.ledger, contract, options);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->blocks, 7u);
  EXPECT_EQ(report->transactions, 37u);
  EXPECT_EQ(report->rejected, 6u);
  EXPECT_EQ(report->state_entries, 31u);  // 30 kv + the genesis config
  EXPECT_EQ(report->tip_hash, t.ledger->tip()->block.hash);
  EXPECT_EQ(progress.size(), 7u);
}

TEST(Verify, ChangedTransactionBytesNameTheirBlock) {
  TestLedger t;
  build_chain(t);
  std::uint64_t seq = 13;  // in block 3 (1 + 6 + 6 = 13 is the first of block 3)
  overwrite(*t.ledger, Table::kTxs, u64_key(seq), [](core::Bytes& v) {
    auto pos = core::to_string(v).find("\"v2\"");
    ASSERT_NE(pos, std::string::npos);
    v[pos + 2] = '9';
  });
  auto error = verify_error(*t.ledger);
  EXPECT_EQ(error.code, core::ErrorCode::kLedgerCorrupt);
  EXPECT_EQ(error.message.rfind("block 3:", 0), 0u) << error.message;
}

TEST(Verify, ChangedResultCodeIsFound) {
  TestLedger t;
  build_chain(t);
  overwrite(*t.ledger, Table::kTxs, u64_key(20), [](core::Bytes& v) { v[1] ^= 1; });
  auto error = verify_error(*t.ledger);
  EXPECT_EQ(error.message.rfind("block 4:", 0), 0u) << error.message;
}

TEST(Verify, ChangedHeaderIsFound) {
  TestLedger t;
  build_chain(t);
  overwrite(*t.ledger, Table::kBlocks, u64_key(2), [](core::Bytes& v) {
    std::string s = core::to_string(v);
    auto pos = s.find("\"time\":");
    v[pos + 8] = v[pos + 8] == '1' ? '2' : '1';
  });
  auto error = verify_error(*t.ledger);
  EXPECT_EQ(error.message.rfind("block 2:", 0), 0u) << error.message;
}

TEST(Verify, ChangedStateValueIsFound) {
  TestLedger t;
  build_chain(t);
  std::string key = std::string("kv") + '\0' + "k7";
  overwrite(*t.ledger, Table::kState, core::to_bytes(key), [](core::Bytes& v) { v[0] ^= 0x20; });
  auto error = verify_error(*t.ledger);
  EXPECT_EQ(error.message.rfind("state:", 0), 0u) << error.message;
}

TEST(Verify, ExtraStateEntryIsFound) {
  TestLedger t;
  build_chain(t);
  ASSERT_TRUE(t.ledger->store().write([](WriteTxn& txn) {
    return txn.put(Table::kState, core::to_bytes(std::string("kv") + '\0' + "planted"),
                   core::to_bytes(std::string("x")));
  }));
  EXPECT_EQ(verify_error(*t.ledger).message.rfind("state:", 0), 0u);
}

TEST(Verify, ChangedMerkleNodeIsFound) {
  TestLedger t;
  build_chain(t);
  overwrite(*t.ledger, Table::kMerkle, merkle_node_key(1, 4), [](core::Bytes& v) { v[31] ^= 1; });
  auto error = verify_error(*t.ledger);
  EXPECT_EQ(error.code, core::ErrorCode::kLedgerCorrupt);
  EXPECT_NE(error.message.find("Merkle node"), std::string::npos) << error.message;
}

TEST(Verify, HeaderSignedByAnotherKeyIsFound) {
  TestLedger t;
  build_chain(t);
  auto intruder = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  auto block = t.ledger->block(5);
  BlockHeader forged = block->header;
  ASSERT_TRUE(sign_header(forged, **intruder));
  ASSERT_TRUE(t.ledger->store().write([&](WriteTxn& txn) {
    return txn.put(Table::kBlocks, u64_key(5), core::to_bytes(encode_header(forged)));
  }));
  auto error = verify_error(*t.ledger);
  EXPECT_EQ(error.message, "block 5: proposer is not a genesis proposer nor a member's node key");
}

TEST(Verify, RemovedTailTransactionIsFound) {
  TestLedger t;
  build_chain(t);
  ASSERT_TRUE(t.ledger->store().write([](WriteTxn& txn) -> core::Result<void> {
    auto erased = txn.erase(Table::kTxIds, core::Digest{});  // absent: no-op
    if (!erased) return erased.error();
    return txn.put(Table::kTxs, u64_key(999), core::to_bytes(std::string("xxextra")));
  }));
  EXPECT_EQ(verify_error(*t.ledger).message.rfind("tables: txs", 0), 0u);
}

}  // namespace
}  // namespace medledger::ledger
