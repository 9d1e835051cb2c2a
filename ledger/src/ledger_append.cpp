// Building one block inside one write transaction (Ledger::append_block, genesis).
#include <algorithm>
#include <set>

#include "execute.h"
#include "ledger_internal.h"
#include "medledger/core/assert.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/merkle_table.h"

namespace medledger::ledger {
namespace detail {

using core::ErrorCode;
using core::make_error;
using core::Result;

Result<std::optional<Block>> read_tip(const Txn& txn) {
  auto cursor = Cursor::open(txn, Table::kBlocks);
  if (!cursor) return cursor.error();
  auto last = cursor->last();
  if (!last) return last.error();
  if (!*last) return std::optional<Block>{};
  auto block = decode_block((*last)->value);
  if (!block) return block.error();
  return std::optional<Block>(std::move(*block));
}

Result<Block> decode_block(core::ByteView stored) {
  std::string json(stored.begin(), stored.end());
  auto header = decode_header(json);
  if (!header) return header.error();
  Block block{std::move(*header), std::move(json), {}};
  block.hash = core::sha256(core::to_bytes(block.header_json));
  return block;
}

Result<CommittedBlock> build_block(WriteTxn& txn, const std::optional<Block>& prev,
                                   const std::vector<PendingTransaction>& batch, std::int64_t time_ms,
                                   Contract& contract, core::Signer& proposer) {
  MEDLEDGER_ASSERT(batch.size() <= kMaxBlockTransactions);
  CommittedBlock out;
  BlockHeader& header = out.header;
  header.height = prev ? prev->header.height + 1 : 0;
  header.prev_hash = prev ? prev->hash : core::Digest{};
  header.time_ms = prev ? std::max(time_ms, prev->header.time_ms) : time_ms;
  const std::uint64_t size_before = prev ? prev->header.log_size : 0;
  std::uint64_t size = size_before;
  MerkleTable merkle(txn);
  StateWriteLog writes;
  std::set<core::Digest> in_batch;

  for (const PendingTransaction& pending : batch) {
    TxOutcome outcome;
    outcome.tx_id = pending.id;
    auto existing = txn.get(Table::kTxIds, pending.id);
    if (!existing) return existing.error();
    if (*existing || !in_batch.insert(pending.id).second) {
      outcome.duplicate = true;
      out.outcomes.push_back(outcome);
      continue;
    }
    outcome.sequence = size;
    BlockContext ctx{header.height, header.time_ms, size, pending.id};
    auto result = execute_transaction(contract, pending.tx, txn, ctx, writes);
    if (!result) return result.error();
    outcome.result = *result;
    core::Bytes entry = log_entry(outcome.result, pending.wire);
    auto seq_key = u64_key(size);
    MEDLEDGER_TRY(txn.put(Table::kTxs, seq_key, entry));
    MEDLEDGER_TRY(txn.put(Table::kTxIds, pending.id, seq_key));
    MEDLEDGER_TRY(append_leaf(merkle, merkle, size, merkle_leaf_hash(entry)));
    ++size;
    out.outcomes.push_back(outcome);
  }
  if (prev && size == size_before) {  // every transaction was a duplicate: no block
    out.header = prev->header;
    out.hash = prev->hash;
    return out;
  }
  header.log_size = size;
  header.tx_count = size - size_before;
  auto root = root_at(merkle, size);
  if (!root) return root.error();
  header.merkle_root = *root;
  header.state_digest = chain_state_digest(prev ? prev->header.state_digest : core::Digest{}, writes.finish());
  MEDLEDGER_TRY(sign_header(header, proposer));
  std::string stored = encode_header(header);
  auto inserted = txn.put_if_absent(Table::kBlocks, u64_key(header.height), core::to_bytes(stored));
  if (!inserted) return inserted.error();
  MEDLEDGER_ASSERT(*inserted);  // one writer: the next height is free
  out.hash = core::sha256(core::to_bytes(stored));
  out.committed = true;
  return out;
}

}  // namespace detail

core::Result<CommittedBlock> Ledger::append_block(const std::vector<PendingTransaction>& batch, std::int64_t time_ms,
                                            Contract& contract, core::Signer& proposer) {
  if (batch.size() > kMaxBlockTransactions) {
    return core::make_error(core::ErrorCode::kInvalidArgument,
                            "ledger: a block holds at most " + std::to_string(kMaxBlockTransactions) + " transactions");
  }
  CommittedBlock result;
  auto written = store_->write([&](WriteTxn& txn) -> core::Result<void> {
    auto prev = detail::read_tip(txn);
    if (!prev) return prev.error();
    if (!*prev) return core::make_error(core::ErrorCode::kLedgerNotFound, "ledger: no genesis block");
    auto built = detail::build_block(txn, *prev, batch, time_ms, contract, proposer);
    if (!built) return built.error();
    result = std::move(*built);
    return core::success();
  });
  if (!written) return written.error();
  return result;
}

}  // namespace medledger::ledger
