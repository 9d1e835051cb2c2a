// Internal helpers shared by ledger*.cpp, verify.cpp, transaction_signature.cpp and the records
// contract.
#pragma once

#include <optional>
#include <vector>

#include "medledger/ledger/ledger.h"

namespace medledger::ledger::detail {

/// The highest block seen through `txn`, nullopt for an empty store.
core::Result<std::optional<Block>> read_tip(const Txn& txn);
/// Parses a stored header and computes its hash (kLedgerCorrupt if malformed).
core::Result<Block> decode_block(core::ByteView stored);
/// Numbers, executes and logs `batch` as the block after `prev` (genesis when nullopt) in
/// `txn`: the header is complete but unsigned and not stored (committed = false when every
/// transaction was a duplicate: no block).
core::Result<CommittedBlock> execute_block(WriteTxn& txn, const std::optional<Block>& prev,
                                           const std::vector<PendingTransaction>& batch,
                                           std::int64_t time_ms, Contract& contract);
/// Stores the header text of block `height` (the next one); returns the block hash.
core::Result<core::Digest> store_header(WriteTxn& txn, std::uint64_t height,
                                        std::string_view stored);
/// Builds, signs and stores the block after `prev` (genesis when nullopt) in `txn`.
core::Result<CommittedBlock> build_block(WriteTxn& txn, const std::optional<Block>& prev,
                                         const std::vector<PendingTransaction>& batch,
                                         std::int64_t time_ms, Contract& contract,
                                         core::Signer& proposer);

/// Checks a block built elsewhere against `prev` (Ledger::apply_block's checks), executes
/// it in `txn` and stores its header; kBlockInvalid for any failed check.
core::Result<CommittedBlock> check_and_store(WriteTxn& txn, const std::optional<Block>& prev,
                                             const OrderedBlock& block,
                                             const std::vector<core::Bytes>& proposers,
                                             Contract& contract, const BlockCheckOptions& check,
                                             const TransactionLimits& limits);

/// A transaction signature checked under a signer key whose algorithm is known:
/// kUnsupportedAlgorithm if the signature claims another algorithm, else
/// core::verify_digest_signature over `id` (= tx_id of its transaction).
/// verify_signature and the records contract's cached signers share it.
core::Result<void> verify_signature_as(const TransactionSignature& signature,
                                       core::KeyAlgorithm key_algorithm, core::ByteView signer_spki,
                                       const core::Digest& id);

}  // namespace medledger::ledger::detail
