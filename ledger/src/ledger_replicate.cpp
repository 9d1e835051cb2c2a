// Replicated ledgers (ledger.h, replication.h): publishing a block before it commits,
// and checking and applying blocks built by other replicas.
#include <algorithm>

#include "execute.h"
#include "ledger_internal.h"
#include "medledger/core/assert.h"
#include "medledger/ledger/ledger.h"

namespace medledger::ledger {
namespace detail {

using core::ErrorCode;
using core::make_error;
using core::Result;

namespace {

core::Error invalid(std::uint64_t height, const std::string& what) {
  return make_error(ErrorCode::kBlockInvalid, "block " + std::to_string(height) + ": " + what);
}

/// The checks that need only the header and the previous block.
Result<void> check_header(const BlockHeader& header, const std::optional<Block>& prev,
                          std::size_t tx_count, const std::optional<core::Bytes>& proposer,
                          const BlockCheckOptions& check) {
  const std::uint64_t height = header.height;
  const std::uint64_t expected = prev ? prev->header.height + 1 : 0;
  if (height != expected)
    return invalid(height, "height " + std::to_string(height) + " where " +
                               std::to_string(expected) + " comes next");
  if (header.prev_hash != (prev ? prev->hash : core::Digest{}))
    return invalid(height, "prev_hash is not the hash of block " + std::to_string(height - 1));
  if (prev && header.time_ms < prev->header.time_ms)
    return invalid(height, "time goes back before block " + std::to_string(height - 1) + "'s");
  if (header.time_ms > check.now_ms + check.max_future_skew.count())
    return invalid(height, "time " + std::to_string(header.time_ms) + " is more than " +
                               std::to_string(check.max_future_skew.count()) +
                               " ms ahead of this node's clock");
  const std::uint64_t size_before = prev ? prev->header.log_size : 0;
  if (tx_count == 0 || header.tx_count != tx_count || header.log_size != size_before + tx_count)
    return invalid(height, "tx_count / log_size do not match its " + std::to_string(tx_count) +
                               " transactions");
  if (!proposer)
    return invalid(height, "proposer " + core::base64url_encode(header.proposer) +
                               " is not a member's node key");
  auto signature = verify_header_signature(header, *proposer);
  if (!signature) return invalid(height, "proposer signature: " + signature.error().message);
  return core::success();
}

}  // namespace

Result<CommittedBlock> check_and_store(WriteTxn& txn, const std::optional<Block>& prev,
                                       const OrderedBlock& block,
                                       const std::vector<core::Bytes>& proposers,
                                       Contract& contract, const BlockCheckOptions& check,
                                       const TransactionLimits& limits) {
  auto decoded = decode_header(block.header_json);
  if (!decoded)
    return make_error(ErrorCode::kBlockInvalid, "block header: " + decoded.error().message);
  const BlockHeader& header = *decoded;
  const std::uint64_t height = header.height;
  if (block.wires.size() > kMaxBlockTransactions)
    return invalid(height, "more than " + std::to_string(kMaxBlockTransactions) + " transactions");
  // decode_ordered_block checks this too; a block built in memory reaches here without it.
  if (block.results.size() != block.wires.size())
    return invalid(height, "one result per transaction");
  // Membership as of the state before this block.
  MEDLEDGER_TRY_ASSIGN(auto proposer,
                       proposer_key(txn, proposers, contract, header.proposer, header.time_ms));
  MEDLEDGER_TRY(check_header(header, prev, block.wires.size(), proposer, check));

  std::vector<PendingTransaction> batch;
  batch.reserve(block.wires.size());
  for (std::size_t i = 0; i < block.wires.size(); ++i) {
    auto pending = prepare_transaction(block.wires[i], limits);
    if (!pending)
      return invalid(height, "transaction " + std::to_string(i) + ": " + pending.error().message);
    batch.push_back(std::move(*pending));
  }
  MEDLEDGER_TRY_ASSIGN(auto out, execute_block(txn, prev, batch, header.time_ms, contract));
  for (std::size_t i = 0; i < out.outcomes.size(); ++i) {
    if (out.outcomes[i].duplicate)
      return invalid(height, "transaction " + std::to_string(i) + " is already in the log");
    if (out.outcomes[i].result != block.results[i])
      return invalid(height, "transaction " + std::to_string(i) + " gives result " +
                                 std::to_string(out.outcomes[i].result) + " here, " +
                                 std::to_string(block.results[i]) + " in the block");
  }
  if (out.header.merkle_root != header.merkle_root)
    return invalid(height, "merkle_root differs from the re-executed log's");
  if (out.header.state_digest != header.state_digest)
    return invalid(height, "state_digest differs from the re-executed contract's");
  out.header = header;
  MEDLEDGER_TRY_ASSIGN(out.hash, store_header(txn, height, block.header_json));
  return out;
}

}  // namespace detail

core::Result<CommittedBlock> Ledger::append_block_published(
    const std::vector<PendingTransaction>& batch, std::int64_t time_ms, Contract& contract,
    core::Signer& proposer, const std::function<core::Result<void>(const OrderedBlock&)>& publish) {
  if (batch.size() > kMaxBlockTransactions) {
    return core::make_error(
        core::ErrorCode::kInvalidArgument,
        "ledger: a block holds at most " + std::to_string(kMaxBlockTransactions) + " transactions");
  }
  CommittedBlock result;
  auto written = store_->write([&](WriteTxn& txn) -> core::Result<void> {
    MEDLEDGER_TRY_ASSIGN(auto prev, detail::read_tip(txn));
    if (!prev)
      return core::make_error(core::ErrorCode::kLedgerNotFound, "ledger: no genesis block");
    MEDLEDGER_TRY_ASSIGN(auto built,
                         detail::build_block(txn, prev, batch, time_ms, contract, proposer));
    if (built.committed && publish) {
      OrderedBlock ordered;
      ordered.header_json = encode_header(built.header);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (built.outcomes[i].duplicate) continue;
        ordered.results.push_back(built.outcomes[i].result);
        ordered.wires.push_back(batch[i].wire);
      }
      MEDLEDGER_TRY(publish(ordered));
    }
    result = std::move(built);
    return core::success();
  });
  if (!written) return written.error();
  return result;
}

core::Result<CommittedBlock> Ledger::apply_block(const OrderedBlock& block, Contract& contract,
                                                 const BlockCheckOptions& check) {
  CommittedBlock result;
  auto written = store_->write([&](WriteTxn& txn) -> core::Result<void> {
    MEDLEDGER_TRY_ASSIGN(auto prev, detail::read_tip(txn));
    if (!prev)
      return core::make_error(core::ErrorCode::kLedgerNotFound, "ledger: no genesis block");
    MEDLEDGER_TRY_ASSIGN(result, detail::check_and_store(txn, prev, block, proposer_keys_, contract,
                                                         check, options_.tx_limits));
    return core::success();
  });
  if (!written) return written.error();
  return result;
}

core::Result<bool> Ledger::may_propose(Contract& contract, core::ByteView spki,
                                       std::int64_t at_ms) const {
  MEDLEDGER_TRY_ASSIGN(auto txn, store_->read());
  MEDLEDGER_TRY_ASSIGN(auto key, detail::proposer_key(txn, proposer_keys_, contract,
                                                      core::public_key_fingerprint(spki), at_ms));
  return key.has_value();
}

core::Result<OrderedBlock> Ledger::ordered_block(std::uint64_t height) const {
  MEDLEDGER_TRY_ASSIGN(auto stored, block(height));
  OrderedBlock out;
  out.header_json = std::move(stored.header_json);
  const std::uint64_t first = stored.header.log_size - stored.header.tx_count;
  out.wires.reserve(stored.header.tx_count);
  out.results.reserve(stored.header.tx_count);
  MEDLEDGER_TRY(scan_log(first, stored.header.log_size,
                         [&](std::uint64_t, std::uint16_t result, std::string_view wire) {
                           out.results.push_back(result);
                           out.wires.emplace_back(wire);
                           return true;
                         }));
  if (out.wires.size() != stored.header.tx_count)
    return core::make_error(core::ErrorCode::kLedgerCorrupt,
                            "ledger: block " + std::to_string(height) + " lacks transactions");
  return out;
}

}  // namespace medledger::ledger
