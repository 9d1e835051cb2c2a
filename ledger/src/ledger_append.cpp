// Building one block inside one write transaction (Ledger::append_block, genesis).
#include <algorithm>
#include <span>

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
  MEDLEDGER_TRY_ASSIGN(auto cursor, Cursor::open(txn, Table::kBlocks));
  MEDLEDGER_TRY_ASSIGN(auto last, cursor.last());
  if (!last) return std::optional<Block>{};
  auto block = decode_block(last->value);
  if (!block) return block.error();
  return std::optional<Block>(std::move(*block));
}

Result<Block> decode_block(core::ByteView stored) {
  std::string json(stored.begin(), stored.end());
  MEDLEDGER_TRY_ASSIGN(auto header, decode_header(json));
  Block block{std::move(header), std::move(json), {}};
  block.hash = core::sha256(core::to_bytes(block.header_json));
  return block;
}

namespace {

constexpr std::size_t kResultCodeBytes = 2;

/// Marks the batch entries that must not enter the block: tx_ids already in the
/// log, and every repeat of an earlier batch entry. Looks the ids up in sorted
/// order (neighbouring keys share B-tree pages). Returns the batch indices in
/// tx_id order, for the inserts.
Result<std::vector<std::size_t>> find_duplicates(const Txn& txn,
                                                 const std::vector<PendingTransaction>& batch,
                                                 std::vector<bool>& duplicate) {
  std::vector<std::size_t> order(batch.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return batch[a].id != batch[b].id ? batch[a].id < batch[b].id
                                      : a < b;  // first occurrence first
  });
  duplicate.assign(batch.size(), false);
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::size_t i = order[k];
    if (k > 0 && batch[order[k - 1]].id == batch[i].id) {
      duplicate[i] = true;
      continue;
    }
    MEDLEDGER_TRY_ASSIGN(auto existing, txn.get(Table::kTxIds, batch[i].id));
    duplicate[i] = existing.has_value();
  }
  return order;
}

/// Stores log entry `sequence` (result code || wire) straight into LMDB's page
/// (MDB_APPEND | MDB_RESERVE: no copy built) and returns its Merkle leaf hash.
Result<MerkleHash> store_log_entry(WriteTxn& txn, std::uint64_t sequence, std::uint16_t result,
                                   std::string_view wire) {
  auto reserved =
      txn.append_reserved(Table::kTxs, u64_key(sequence), kResultCodeBytes + wire.size());
  if (!reserved) return reserved.error();
  if (!*reserved) {
    return make_error(ErrorCode::kLedgerCorrupt, "ledger: transaction " + std::to_string(sequence) +
                                                     " is not the next sequence of the txs table");
  }
  std::span<std::uint8_t> entry = **reserved;
  entry[0] = static_cast<std::uint8_t>(result >> 8);
  entry[1] = static_cast<std::uint8_t>(result & 0xff);
  std::copy(wire.begin(), wire.end(), entry.begin() + kResultCodeBytes);
  return merkle_leaf_hash(entry);
}

/// Marks the duplicates, numbers the others from `size_before` and writes their txid
/// index entries; returns the log size after the block. Done before the contract runs
/// (nothing here depends on its answers), so the index is written in key order rather
/// than in random order.
Result<std::uint64_t> number_transactions(WriteTxn& txn,
                                          const std::vector<PendingTransaction>& batch,
                                          std::uint64_t size_before,
                                          std::vector<TxOutcome>& outcomes) {
  std::vector<bool> duplicate;
  MEDLEDGER_TRY_ASSIGN(auto id_order, find_duplicates(txn, batch, duplicate));
  outcomes.resize(batch.size());
  std::uint64_t size = size_before;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    outcomes[i].tx_id = batch[i].id;
    outcomes[i].duplicate = duplicate[i];
    if (!duplicate[i]) outcomes[i].sequence = size++;
  }
  for (std::size_t i : id_order) {
    if (duplicate[i]) continue;
    MEDLEDGER_TRY_ASSIGN(const bool inserted, txn.put_if_absent(Table::kTxIds, batch[i].id,
                                                                u64_key(outcomes[i].sequence)));
    MEDLEDGER_ASSERT(inserted);  // checked absent above, in this same txn
  }
  return size;
}

}  // namespace

Result<CommittedBlock> execute_block(WriteTxn& txn, const std::optional<Block>& prev,
                                     const std::vector<PendingTransaction>& batch,
                                     std::int64_t time_ms, Contract& contract) {
  MEDLEDGER_ASSERT(batch.size() <= kMaxBlockTransactions);
  CommittedBlock out;
  BlockHeader& header = out.header;
  header.height = prev ? prev->header.height + 1 : 0;
  header.prev_hash = prev ? prev->hash : core::Digest{};
  header.time_ms = prev ? std::max(time_ms, prev->header.time_ms) : time_ms;
  const std::uint64_t size_before = prev ? prev->header.log_size : 0;

  MEDLEDGER_TRY_ASSIGN(const std::uint64_t size,
                       number_transactions(txn, batch, size_before, out.outcomes));

  MerkleTable merkle(txn);
  StateWriteLog writes;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    TxOutcome& outcome = out.outcomes[i];
    if (outcome.duplicate) continue;
    BlockContext ctx{header.height, header.time_ms, outcome.sequence, batch[i].id};
    auto result = execute_transaction(contract, batch[i].tx, txn, ctx, writes);
    if (!result) return result.error();
    outcome.result = *result;
    MEDLEDGER_TRY_ASSIGN(auto leaf,
                         store_log_entry(txn, outcome.sequence, outcome.result, batch[i].wire));
    MEDLEDGER_TRY(append_leaf(merkle, merkle, outcome.sequence, leaf));
  }
  if (prev && size == size_before) {  // every transaction was a duplicate: no block
    out.header = prev->header;
    out.hash = prev->hash;
    return out;
  }
  header.log_size = size;
  header.tx_count = size - size_before;
  MEDLEDGER_TRY_ASSIGN(auto root, root_at(merkle, size));
  header.merkle_root = root;
  header.state_digest =
      chain_state_digest(prev ? prev->header.state_digest : core::Digest{}, writes.finish());
  // The chain's links: the next height, the previous header's hash, and a log grown by
  // exactly this block's transactions (at least one, at most the batch).
  MEDLEDGER_ASSERT(header.tx_count >= 1 && header.tx_count <= batch.size());
  MEDLEDGER_ASSERT(!prev ||
                   (header.height == prev->header.height + 1 && header.prev_hash == prev->hash &&
                    header.log_size == prev->header.log_size + header.tx_count));
  out.committed = true;
  return out;
}

Result<core::Digest> store_header(WriteTxn& txn, std::uint64_t height, std::string_view stored) {
  auto appended = txn.append(Table::kBlocks, u64_key(height), core::to_bytes(stored));
  if (!appended) return appended.error();
  MEDLEDGER_ASSERT(*appended);  // one writer: the next height sorts last
  return core::sha256(core::to_bytes(stored));
}

Result<CommittedBlock> build_block(WriteTxn& txn, const std::optional<Block>& prev,
                                   const std::vector<PendingTransaction>& batch,
                                   std::int64_t time_ms, Contract& contract,
                                   core::Signer& proposer) {
  MEDLEDGER_TRY_ASSIGN(auto out, execute_block(txn, prev, batch, time_ms, contract));
  if (!out.committed) return out;
  MEDLEDGER_TRY(sign_header(out.header, proposer));
  MEDLEDGER_TRY_ASSIGN(out.hash, store_header(txn, out.header.height, encode_header(out.header)));
  return out;
}

}  // namespace detail

core::Result<CommittedBlock> Ledger::append_block(const std::vector<PendingTransaction>& batch,
                                                  std::int64_t time_ms, Contract& contract,
                                                  core::Signer& proposer) {
  return append_block_published(batch, time_ms, contract, proposer, {});
}

}  // namespace medledger::ledger
