// Offline verification of a whole ledger from genesis.
//
// verify_ledger reads one snapshot and checks, block by block, in order:
//   - the header parses, is canonical, has the next height and the previous
//     block's hash, a time not before the previous block's, log_size = previous
//     log_size + tx_count, tx_count >= 1 (exactly 1 for genesis);
//   - the proposer is a key listed in the genesis configuration and the header
//     signature verifies with it;
//   - every transaction of the block decodes as a canonical wire transaction (block
//     0 holds the "genesis" one), the txid index maps its tx_id to its sequence;
//   - replaying it through `contract` on a fresh scratch state (a temporary LMDB
//     store) gives the stored result code, and the block's writes give the header's
//     state_digest;
//   - the RFC 9162 root recomputed from the entries equals the header's
//     merkle_root, and every stored Merkle node equals the recomputed one;
// then, after the last block: no table holds entries beyond the log (txs, txid,
// merkle, blocks), and the state table equals the replayed state byte for byte.
//
// The first mismatch ends the run: kLedgerCorrupt "block N: <what>" (or "state:" /
// "tables:" for the final checks). Storage errors: kLedgerStorage.
// Cost: reads every block and transaction once, one contract replay, one
// signature check per block, the scratch store in `scratch_parent` (default the
// system temp dir), memory O(log n).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

#include "medledger/core/result.h"
#include "medledger/ledger/contract.h"
#include "medledger/ledger/ledger.h"

namespace medledger::ledger {

struct VerifyOptions {
  /// Called after each verified block with (height, tip height).
  std::function<void(std::uint64_t height, std::uint64_t tip)> progress;
  std::filesystem::path scratch_parent;  // empty: std::filesystem::temp_directory_path()
};

struct VerifyReport {
  std::uint64_t blocks = 0;
  std::uint64_t transactions = 0;
  std::uint64_t rejected = 0;  // logged with a non-zero result code
  std::uint64_t state_entries = 0;
  core::Digest tip_hash{};
  MerkleHash root{};
};

/// Verifies `ledger` as above; the report on success.
core::Result<VerifyReport> verify_ledger(const Ledger& ledger, Contract& contract,
                                         const VerifyOptions& options = {});

}  // namespace medledger::ledger
