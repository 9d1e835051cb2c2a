// Internal: running one transaction through the contract inside a block's write
// transaction, and the state tables' key layout. Shared by block building
// (ledger_append.cpp) and verify's replay (verify.cpp), so both take one path.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/sha256.h"
#include "medledger/ledger/contract.h"
#include "medledger/ledger/store.h"

namespace medledger::ledger::detail {

/// table || 0x00 || key, after checking the bounds of contract.h (kInvalidArgument).
core::Result<core::Bytes> state_key(std::string_view table, core::ByteView key);

/// Visits the state entries of `table` whose key starts with `prefix` (may be empty:
/// the whole table) in key order, until `visit` returns false. kInvalidArgument for a
/// bad table name.
core::Result<void> scan_state(const Txn& txn, std::string_view table, core::ByteView prefix,
                              const std::function<bool(core::ByteView, core::ByteView)>& visit);

/// Collects the writes of one block in order for the header's state_digest:
/// block_writes = SHA-256 over, for each accepted write, op (1 = put, 2 = erase) ||
/// u32 BE length || state key || u32 BE length || value (empty for erase).
class StateWriteLog {
 public:
  void add(core::ByteView tx_writes) { hasher_.update(tx_writes); }
  core::Digest finish() { return hasher_.finish(); }

 private:
  core::Sha256 hasher_;
};

/// state_digest(h) = SHA-256(state_digest(h-1) || block_writes(h)); state_digest(-1) = 32 zero
/// bytes.
core::Digest chain_state_digest(const core::Digest& previous, const core::Digest& block_writes);

/// Validates then applies `tx`: returns kTxAccepted or the rejection's code (the
/// state is then unchanged). Storage errors (kLedgerStorage, kLedgerFull) come back
/// as errors: the caller aborts the whole block.
core::Result<std::uint16_t> execute_transaction(Contract& contract, const Transaction& tx,
                                                WriteTxn& block_txn, const BlockContext& ctx,
                                                StateWriteLog& log);

/// The key of the proposer named by `fingerprint` as of `txn`'s state at `at_ms` (the
/// block's time): one of the genesis proposers, else a current member's node key
/// (Contract::member_node_key).
core::Result<std::optional<core::Bytes>> proposer_key(const Txn& txn,
                                                      const std::vector<core::Bytes>& genesis_keys,
                                                      Contract& contract,
                                                      const core::Digest& fingerprint,
                                                      std::int64_t at_ms);

/// True for the codes that abort a block instead of rejecting one transaction.
bool is_storage_failure(core::ErrorCode code);

}  // namespace medledger::ledger::detail
