// Ledger: blocks of transactions in one LMDB store, with the Merkle log over all of
// them and the contract's state, built one durable write transaction per block.
//
// Log entries: transaction number s (its "sequence", the Merkle leaf index) is
// stored in table txs as its log entry
//     entry = result code (u16 big-endian; 0 = accepted) || the wire transaction bytes
// and the Merkle leaf is SHA-256(0x00 || entry), so an inclusion proof also proves
// the recorded outcome. Rejected transactions are in the log with their code.
//
// Threading: append_block from one thread at a time (the orderer's writer); every
// read call from any thread, concurrently with append_block (own read txn each).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "medledger/core/result.h"
#include "medledger/core/signer.h"
#include "medledger/ledger/block.h"
#include "medledger/ledger/contract.h"
#include "medledger/ledger/merkle.h"
#include "medledger/ledger/replication.h"
#include "medledger/ledger/store.h"
#include "medledger/ledger/transaction.h"

namespace medledger::ledger {

/// Most transactions in one block; batches are cut below it (ordering.h).
inline constexpr std::size_t kMaxBlockTransactions = 10000;
/// Format of the tables, stored in meta "format"; open() refuses others.
/// 2: Merkle nodes keyed by completion position (merkle_table.h); 1 keyed them by level || index.
inline constexpr std::uint64_t kLedgerFormatVersion = 2;

struct LedgerOptions {
  StoreOptions store;
  TransactionLimits tx_limits;
};

/// A transaction ready for a block: wire bytes, decoded form, tx_id.
struct PendingTransaction {
  std::string wire;
  Transaction tx;
  core::Digest id{};
};

/// decode_transaction + tx_id. Errors as decode_transaction. CPU only.
core::Result<PendingTransaction> prepare_transaction(std::string wire,
                                                     const TransactionLimits& limits = {});

/// The log entry of a transaction: result code (u16 BE) || wire bytes.
core::Bytes log_entry(std::uint16_t result, std::string_view wire);

/// What happened to one transaction of a batch.
struct TxOutcome {
  core::Digest tx_id{};
  bool duplicate = false;      // already in the log (or twice in the batch): not in the block
  std::uint64_t sequence = 0;  // valid unless duplicate
  std::uint16_t result = kTxAccepted;
};

struct CommittedBlock {
  bool committed = false;  // false when every transaction was a duplicate: no block
  BlockHeader header;      // the new block (or the unchanged tip)
  core::Digest hash{};
  std::vector<TxOutcome> outcomes;  // one per batch entry, same order
};

struct Block {
  BlockHeader header;
  std::string header_json;  // the stored canonical bytes
  core::Digest hash{};
};

struct StoredTransaction {
  std::uint64_t sequence = 0;
  std::uint16_t result = kTxAccepted;
  std::string wire;
  core::Digest tx_id{};  // recomputed from the wire bytes (zero if they no longer decode)
};

struct ChainTip {
  Block block;  // the highest block
  core::Digest genesis_hash{};
};

class Ledger {
 public:
  /// Creates a new ledger in `dir` (must not hold one): block 0 with one "genesis"
  /// transaction whose body is `genesis_document` (genesis.h), applied through
  /// `contract`, signed by `proposer` (which must be listed in the document).
  /// kAlreadyExists if a ledger is there. Cost: one durable commit + one signature.
  static core::Result<std::unique_ptr<Ledger>> create(const std::filesystem::path& dir,
                                                      const boost::json::object& genesis_document,
                                                      Contract& contract, core::Signer& proposer,
                                                      std::int64_t time_ms,
                                                      const LedgerOptions& options = {});
  /// Opens an existing ledger; kLedgerNotFound if `dir` holds none. Reads block 0.
  static core::Result<std::unique_ptr<Ledger>> open(const std::filesystem::path& dir,
                                                    const LedgerOptions& options = {});

  /// Builds, signs and durably commits the next block from `batch`: duplicates
  /// (tx_id in the log or earlier in the batch) are left out; every other
  /// transaction is validated/applied by `contract` and logged with its code.
  /// The block time is max(time_ms, previous block's time). kInvalidArgument for
  /// more than kMaxBlockTransactions. Storage errors: nothing of the block is
  /// committed. Cost: ONE durable LMDB commit (fsync) + one signature.
  core::Result<CommittedBlock> append_block(const std::vector<PendingTransaction>& batch,
                                            std::int64_t time_ms, Contract& contract,
                                            core::Signer& proposer);

  /// append_block for a replicated ledger: `publish` gets the signed block, as replicas
  /// exchange it, INSIDE the write transaction, before it commits. The block commits only
  /// when publish succeeds (etcd's compare-and-create); an error from publish aborts it
  /// (nothing stored) and is returned as is. Not called when every transaction was a
  /// duplicate (committed = false); an empty `publish` is append_block. publish may succeed and the
  /// commit still fail (a full disk), and when LMDB's map must grow the whole block is built,
  /// signed and published again: the caller treats "published" as "in the ordering service, maybe
  /// not here" and catches up from there. Cost: append_block + publish.
  core::Result<CommittedBlock> append_block_published(
      const std::vector<PendingTransaction>& batch, std::int64_t time_ms, Contract& contract,
      core::Signer& proposer,
      const std::function<core::Result<void>(const OrderedBlock&)>& publish);

  /// Checks a block another replica built and applies it when every check holds (one
  /// durable commit): height = tip + 1 and prev_hash = the tip's hash; the proposer is one
  /// of proposer_keys() and its signature verifies; time >= the tip's and <= now + skew;
  /// tx_count and log_size add up; every transaction decodes and is not in the log yet;
  /// the contract re-executed here gives the same result codes, Merkle root and state
  /// digest. kBlockInvalid naming the first failed check, with nothing stored; storage
  /// errors as append_block. Cost: the block's contract work + one verify + one fsync.
  core::Result<CommittedBlock> apply_block(const OrderedBlock& block, Contract& contract,
                                           const BlockCheckOptions& check);
  /// Whether a block signed with `spki` at `at_ms` would pass apply_block's proposer check
  /// on the current state: a genesis proposer, or a member's node key then
  /// (Contract::member_node_key).
  core::Result<bool> may_propose(Contract& contract, core::ByteView spki, std::int64_t at_ms) const;
  /// Creates a replica in `dir` from a genesis block built elsewhere (block 0 as
  /// exchanged), with apply_block's checks; its proposer must be listed in the
  /// configuration it carries. kAlreadyExists if a ledger is there.
  static core::Result<std::unique_ptr<Ledger>> create_replica(const std::filesystem::path& dir,
                                                              const OrderedBlock& genesis,
                                                              Contract& contract,
                                                              const BlockCheckOptions& check,
                                                              const LedgerOptions& options = {});
  /// Block `height` with its transactions and result codes, as replicas exchange it.
  /// kLedgerNotFound past the tip. Cost: two read transactions, a cursor step per transaction.
  core::Result<OrderedBlock> ordered_block(std::uint64_t height) const;

  /// The highest block. Cost: a read txn and a cursor step.
  core::Result<ChainTip> tip() const;
  /// Block at `height`; kLedgerNotFound past the tip.
  core::Result<Block> block(std::uint64_t height) const;
  /// The height of the block holding transaction `sequence`: binary search, O(log height) reads.
  core::Result<std::uint64_t> block_of(std::uint64_t sequence) const;
  /// Transaction number `sequence`; kLedgerNotFound past the log.
  core::Result<StoredTransaction> transaction(std::uint64_t sequence) const;
  /// Calls `visit(sequence, result, wire)` for the logged transactions in [from, to)
  /// in order, until it returns false, without decoding them (the views are valid
  /// during the call only). Stops early at the end of the log. Cost: one read
  /// transaction and a cursor step per entry.
  core::Result<void> scan_log(
      std::uint64_t from, std::uint64_t to,
      const std::function<bool(std::uint64_t, std::uint16_t, std::string_view)>& visit) const;
  /// The sequence of `tx_id`, nullopt if never logged. One lookup.
  core::Result<std::optional<std::uint64_t>> find(const core::Digest& tx_id) const;

  /// MTH of the first `size` transactions. popcount(size) reads.
  core::Result<MerkleHash> root_at(std::uint64_t size) const;
  /// RFC 9162 inclusion proof of `sequence` in the tree of `size`. O(log size) reads.
  core::Result<std::vector<MerkleHash>> inclusion_proof(std::uint64_t sequence,
                                                        std::uint64_t size) const;
  /// RFC 9162 consistency proof between sizes. O(log new_size) reads.
  core::Result<std::vector<MerkleHash>> consistency_proof(std::uint64_t old_size,
                                                          std::uint64_t new_size) const;

  /// The genesis configuration document and its proposer keys (read at open).
  const boost::json::object& genesis_document() const { return genesis_document_; }
  const std::vector<core::Bytes>& proposer_keys() const { return proposer_keys_; }
  const core::Digest& genesis_hash() const { return genesis_hash_; }
  /// The checkpoint origin line: "medledger/<hex of the genesis block hash>".
  std::string origin() const;

  Store& store() const { return *store_; }
  const LedgerOptions& options() const { return options_; }

 private:
  Ledger(std::unique_ptr<Store> store, LedgerOptions options)
      : store_(std::move(store)), options_(options) {}
  core::Result<void> load_genesis();
  std::unique_ptr<Store> store_;
  LedgerOptions options_;
  boost::json::object genesis_document_;
  std::vector<core::Bytes> proposer_keys_;
  core::Digest genesis_hash_{};
};

}  // namespace medledger::ledger
