// The Merkle node table (merkle_table.h).
#include "medledger/ledger/merkle_table.h"

#include <algorithm>
#include <bit>

#include "medledger/core/assert.h"

namespace medledger::ledger {

std::array<std::uint8_t, 8> merkle_node_key(unsigned level, std::uint64_t index) {
  MEDLEDGER_ASSERT(level <= kMaxMerkleLevel);
  const std::uint64_t leaves = (index + 1) << level;  // tree size when this node completes
  // Modular arithmetic: 2 * leaves may wrap at 2^63 leaves, the true result fits in 64 bits.
  const std::uint64_t stored_after = 2 * leaves - static_cast<std::uint64_t>(std::popcount(leaves));
  const std::uint64_t top_level = static_cast<std::uint64_t>(std::countr_zero(leaves));
  return u64_key(stored_after - 1 - (top_level - level));
}

std::optional<MerkleHash> MerkleTable::node(unsigned level, std::uint64_t index) const {
  if (level <= kMaxMerkleLevel) {
    const Written& w = last_written_[level];
    if (w.valid && w.index == index) return w.hash;
  }
  ++reads_;
  auto value = txn_.get(Table::kMerkle, merkle_node_key(level, index));
  if (!value || !*value || (*value)->size() != core::kSha256Size) return std::nullopt;
  MerkleHash hash{};
  std::copy((*value)->begin(), (*value)->end(), hash.begin());
  return hash;
}

core::Result<void> MerkleTable::put_node(const MerkleNode& node) {
  MEDLEDGER_ASSERT(writer_ != nullptr);
  const auto key = merkle_node_key(node.level, node.index);
  MEDLEDGER_TRY_ASSIGN(auto appended, writer_->append(Table::kMerkle, key, node.hash));
  if (!appended)
    MEDLEDGER_TRY(writer_->put(Table::kMerkle, key, node.hash));  // not in append order
  last_written_[node.level] = Written{true, node.index, node.hash};
  return core::success();
}

}  // namespace medledger::ledger
