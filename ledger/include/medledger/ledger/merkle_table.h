// MerkleTable: the Merkle node store (merkle.h) on the LMDB table "merkle".
// Key = level (1 byte) || index (u64 big-endian), value = the 32-byte hash.
// Reads go through the transaction given (a ReadTxn snapshot, or the block's
// WriteTxn, which sees its own new nodes). Counts reads, to show proofs are O(log n).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "medledger/ledger/merkle.h"
#include "medledger/ledger/store.h"

namespace medledger::ledger {

/// The 9-byte key of node (level, index).
std::array<std::uint8_t, 9> merkle_node_key(unsigned level, std::uint64_t index);

class MerkleTable final : public MerkleNodeReader, public MerkleNodeWriter {
 public:
  /// Reads through `txn`; writes need a WriteTxn (the other constructor).
  explicit MerkleTable(const Txn& txn) : txn_(txn), writer_(nullptr) {}
  explicit MerkleTable(WriteTxn& txn) : txn_(txn), writer_(&txn) {}

  /// One LMDB lookup; nullopt if absent, of the wrong size, or on a storage error
  /// (merkle.h then reports kLedgerNotFound).
  std::optional<MerkleHash> node(unsigned level, std::uint64_t index) const override;
  /// One LMDB put (asserts a write transaction was given).
  core::Result<void> put_node(const MerkleNode& node) override;

  std::uint64_t reads() const { return reads_; }

 private:
  const Txn& txn_;
  WriteTxn* writer_;
  mutable std::uint64_t reads_ = 0;
};

}  // namespace medledger::ledger
