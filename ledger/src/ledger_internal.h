// Internal helpers shared by ledger*.cpp and verify.cpp.
#pragma once

#include <optional>
#include <vector>

#include "medledger/ledger/ledger.h"

namespace medledger::ledger::detail {

/// The highest block seen through `txn`, nullopt for an empty store.
core::Result<std::optional<Block>> read_tip(const Txn& txn);
/// Parses a stored header and computes its hash (kLedgerCorrupt if malformed).
core::Result<Block> decode_block(core::ByteView stored);
/// Builds, signs and stores the block after `prev` (genesis when nullopt) in `txn`.
core::Result<CommittedBlock> build_block(WriteTxn& txn, const std::optional<Block>& prev,
                                         const std::vector<PendingTransaction>& batch, std::int64_t time_ms,
                                         Contract& contract, core::Signer& proposer);

}  // namespace medledger::ledger::detail
