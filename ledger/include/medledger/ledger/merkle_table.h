// MerkleTable: the Merkle node store (merkle.h) on the LMDB table "merkle".
// Key = the node's position in completion order (u64 big-endian): appending leaf
// n-1 completes the nodes of levels 0..countr_zero(n) in that order, and the tree
// of n leaves holds 2n - popcount(n) nodes, so
//   position(level, index) = 2n - popcount(n) - 1 - (countr_zero(n) - level),
//   n = (index + 1) << level.
// Appends therefore write strictly increasing keys (MDB_APPEND, full pages).
// Value = the 32-byte hash. Reads go through the transaction given (a ReadTxn
// snapshot, or the block's WriteTxn, which sees its own new nodes). Counts LMDB
// reads, to show proofs are O(log n).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "medledger/ledger/merkle.h"
#include "medledger/ledger/store.h"

namespace medledger::ledger {

/// The 8-byte key of node (level, index): its completion position, big-endian (above).
std::array<std::uint8_t, 8> merkle_node_key(unsigned level, std::uint64_t index);

class MerkleTable final : public MerkleNodeReader, public MerkleNodeWriter {
 public:
  /// Reads through `txn`; writes need a WriteTxn (the other constructor).
  explicit MerkleTable(const Txn& txn) : txn_(txn), writer_(nullptr) {}
  explicit MerkleTable(WriteTxn& txn) : txn_(txn), writer_(&txn) {}

  /// The node written last at `level` through this table if it matches (no LMDB
  /// read: appends read only their left siblings), else one LMDB lookup; nullopt if
  /// absent, of the wrong size, or on a storage error (merkle.h then reports kLedgerNotFound).
  std::optional<MerkleHash> node(unsigned level, std::uint64_t index) const override;
  /// One LMDB put, MDB_APPEND when the key sorts last (asserts a write transaction was given).
  core::Result<void> put_node(const MerkleNode& node) override;

  std::uint64_t reads() const { return reads_; }

 private:
  const Txn& txn_;
  WriteTxn* writer_;
  mutable std::uint64_t reads_ = 0;
  // Per level, the last node written through this table (the right frontier).
  struct Written {
    bool valid = false;
    std::uint64_t index = 0;
    MerkleHash hash{};
  };
  std::array<Written, kMaxMerkleLevel + 1> last_written_{};
};

}  // namespace medledger::ledger
