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
/// Builds, signs and stores the block after `prev` (genesis when nullopt) in `txn`.
core::Result<CommittedBlock> build_block(WriteTxn& txn, const std::optional<Block>& prev,
                                         const std::vector<PendingTransaction>& batch,
                                         std::int64_t time_ms, Contract& contract,
                                         core::Signer& proposer);

/// A transaction signature checked under a signer key whose algorithm is known:
/// kUnsupportedAlgorithm if the signature claims another algorithm, else
/// core::verify_digest_signature over `id` (= tx_id of its transaction).
/// verify_signature and the records contract's cached signers share it.
core::Result<void> verify_signature_as(const TransactionSignature& signature,
                                       core::KeyAlgorithm key_algorithm, core::ByteView signer_spki,
                                       const core::Digest& id);

}  // namespace medledger::ledger::detail
