// The Merkle node table (merkle_table.h).
#include "medledger/ledger/merkle_table.h"

#include <algorithm>

#include "medledger/core/assert.h"

namespace medledger::ledger {

std::array<std::uint8_t, 9> merkle_node_key(unsigned level, std::uint64_t index) {
  MEDLEDGER_ASSERT(level <= kMaxMerkleLevel);
  std::array<std::uint8_t, 9> key{};
  key[0] = static_cast<std::uint8_t>(level);
  auto be = u64_key(index);
  std::copy(be.begin(), be.end(), key.begin() + 1);
  return key;
}

std::optional<MerkleHash> MerkleTable::node(unsigned level, std::uint64_t index) const {
  ++reads_;
  auto value = txn_.get(Table::kMerkle, merkle_node_key(level, index));
  if (!value || !*value || (*value)->size() != core::kSha256Size) return std::nullopt;
  MerkleHash hash{};
  std::copy((*value)->begin(), (*value)->end(), hash.begin());
  return hash;
}

core::Result<void> MerkleTable::put_node(const MerkleNode& node) {
  MEDLEDGER_ASSERT(writer_ != nullptr);
  return writer_->put(Table::kMerkle, merkle_node_key(node.level, node.index), node.hash);
}

}  // namespace medledger::ledger
