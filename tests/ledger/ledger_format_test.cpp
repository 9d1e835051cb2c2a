// Table format 2: Merkle node keys in completion order (so appends are MDB_APPEND),
// and open() refusing any other format version.
#include <gtest/gtest.h>

#include <bit>
#include <map>
#include <set>

#include "ledger_fixture.h"
#include "medledger/ledger/merkle.h"
#include "medledger/ledger/merkle_table.h"

namespace medledger::ledger::testing {
namespace {

// A reader that knows every node ever completed (for nodes_completed_by_append).
class AllNodes final : public MerkleNodeReader {
 public:
  std::optional<MerkleHash> node(unsigned level, std::uint64_t index) const override {
    auto it = nodes_.find({level, index});
    if (it == nodes_.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::pair<unsigned, std::uint64_t>, MerkleHash> nodes_;
};

TEST(LedgerFormat, MerkleNodeKeysOfSuccessiveAppendsStrictlyIncreaseFromZeroWithoutGaps) {
  AllNodes tree;
  std::uint64_t expected_position = 0;
  for (std::uint64_t size = 0; size < 1500; ++size) {
    auto nodes = nodes_completed_by_append(tree, size, merkle_leaf_hash(u64_key(size)));
    ASSERT_TRUE(nodes.ok());
    for (const MerkleNode& n : *nodes) {
      ASSERT_EQ(read_u64_key(merkle_node_key(n.level, n.index)), expected_position)
          << "level " << n.level << " index " << n.index;
      ++expected_position;
      tree.nodes_[{n.level, n.index}] = n.hash;
    }
    // A tree of n leaves holds 2n - popcount(n) nodes.
    const std::uint64_t n = size + 1;
    ASSERT_EQ(expected_position, 2 * n - static_cast<std::uint64_t>(std::popcount(n)));
  }
}

TEST(LedgerFormat, LargestNodesHaveDistinctKeysWithoutOverflow) {
  const std::uint64_t last_leaf = (std::uint64_t{1} << kMaxMerkleLevel) - 1;
  std::set<std::array<std::uint8_t, 8>> keys;
  for (unsigned level = 0; level <= kMaxMerkleLevel; ++level) {
    keys.insert(merkle_node_key(level, last_leaf >> level));
  }
  EXPECT_EQ(keys.size(), kMaxMerkleLevel + 1);
  // The root of 2^63 leaves is the very last node: 2 * 2^63 - 1 nodes, position 2^64 - 2.
  EXPECT_EQ(read_u64_key(merkle_node_key(kMaxMerkleLevel, 0)), ~std::uint64_t{0} - 1);
}

TEST(LedgerFormat, OpenRefusesAnotherFormatVersionWithLedgerCorrupt) {
  TempDir dir;
  auto signer = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  ASSERT_TRUE(signer.ok());
  KeyValueContract contract;
  GenesisConfig config{"format-test", {}, 1, {signer->get()}};
  {
    auto created =
        Ledger::create(dir.path(), make_genesis_document(config), contract, **signer, kTestTimeMs);
    ASSERT_TRUE(created.ok()) << created.error().to_string();
  }
  ASSERT_TRUE(Ledger::open(dir.path()).ok());
  {
    auto store = Store::open(dir.path());
    ASSERT_TRUE(store.ok());
    const std::string name = "format";
    core::ByteView key(reinterpret_cast<const std::uint8_t*>(name.data()), name.size());
    auto written =
        (*store)->write([&](WriteTxn& txn) { return txn.put(Table::kMeta, key, u64_key(1)); });
    ASSERT_TRUE(written.ok());
  }
  auto reopened = Ledger::open(dir.path());
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.error().code, core::ErrorCode::kLedgerCorrupt);
  EXPECT_NE(reopened.error().message.find("format 1"), std::string::npos)
      << reopened.error().message;
}

}  // namespace
}  // namespace medledger::ledger::testing
