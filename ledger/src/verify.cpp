// Offline verification from genesis (verify.h).
#include "medledger/ledger/verify.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <map>
#include <string>

#include "execute.h"
#include "ledger_internal.h"
#include "medledger/core/assert.h"
#include "medledger/ledger/genesis.h"
#include "medledger/ledger/merkle_table.h"

namespace medledger::ledger {
namespace {

using core::ErrorCode;
using core::make_error;
using core::Result;

core::Error corrupt_at(std::uint64_t height, const std::string& what) {
  return make_error(ErrorCode::kLedgerCorrupt, "block " + std::to_string(height) + ": " + what);
}

/// The right edge of the tree: the stored perfect subtrees whose union is the
/// first `size` leaves (at most 64). Enough to append and to compute the root.
class MerkleFrontier final : public MerkleNodeReader {
 public:
  std::optional<MerkleHash> node(unsigned level, std::uint64_t index) const override {
    auto it = nodes_.find({level, index});
    if (it == nodes_.end()) return std::nullopt;
    return it->second;
  }
  /// Appends a leaf; returns the nodes it completes (to compare with the store).
  Result<std::vector<MerkleNode>> append(const MerkleHash& leaf) {
    MEDLEDGER_TRY_ASSIGN(auto completed, nodes_completed_by_append(*this, size_, leaf));
    for (const MerkleNode& n : completed) nodes_[{n.level, n.index}] = n.hash;
    ++size_;
    // Keep only the decomposition of the new size.
    std::map<std::pair<unsigned, std::uint64_t>, MerkleHash> kept;
    for (unsigned level = 0; level <= kMaxMerkleLevel; ++level) {
      if (((size_ >> level) & 1u) == 0) continue;
      std::uint64_t index = (size_ >> level) - 1;  // the last complete subtree at this level
      auto it = nodes_.find({level, index});
      MEDLEDGER_ASSERT(it != nodes_.end());
      kept.insert(*it);
    }
    nodes_ = std::move(kept);
    return completed;
  }
  std::uint64_t size() const { return size_; }

 private:
  std::map<std::pair<unsigned, std::uint64_t>, MerkleHash> nodes_;
  std::uint64_t size_ = 0;
};

/// A temporary directory for the replay state, removed at the end.
class ScratchDir {
 public:
  static Result<ScratchDir> make(const std::filesystem::path& parent_option) {
    std::filesystem::path parent =
        parent_option.empty() ? std::filesystem::temp_directory_path() : parent_option;
    std::string pattern = (parent / "medledger-verify-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return make_error(ErrorCode::kIoError,
                        "verify: cannot create a scratch directory in " + parent.string());
    }
    return ScratchDir(pattern);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit ScratchDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

struct Verifier {
  const Ledger& ledger;
  Contract& contract;
  const ReadTxn& snapshot;
  Store& scratch;
  std::vector<core::Bytes> proposer_keys;
  MerkleFrontier frontier;
  VerifyReport report;

  Result<void> verify_block(std::uint64_t height, core::ByteView stored,
                            const std::optional<Block>& prev);
  Result<void> replay_transactions(const BlockHeader& header, WriteTxn& txn,
                                   detail::StateWriteLog& log);
  Result<void> final_checks();
};

Result<void> Verifier::verify_block(std::uint64_t height, core::ByteView stored,
                                    const std::optional<Block>& prev) {
  auto block = detail::decode_block(stored);
  if (!block) return corrupt_at(height, block.error().message);
  const BlockHeader& h = block->header;
  if (h.height != height)
    return corrupt_at(height, "header says height " + std::to_string(h.height));
  if (h.prev_hash != (prev ? prev->hash : core::Digest{}))
    return corrupt_at(height, "previous block hash does not match");
  if (prev && h.time_ms < prev->header.time_ms) return corrupt_at(height, "time goes backwards");
  std::uint64_t size_before = prev ? prev->header.log_size : 0;
  if (h.tx_count == 0 || (height == 0 && h.tx_count != 1) ||
      h.log_size != size_before + h.tx_count) {
    return corrupt_at(height, "tx_count / log_size do not follow the previous block");
  }

  // A block's proposer must be a member as of the state before it (block 0: the genesis
  // proposers it names, known once it is replayed).
  std::optional<core::Bytes> proposer;
  if (height > 0) {
    MEDLEDGER_TRY_ASSIGN(auto before, scratch.read());
    MEDLEDGER_TRY_ASSIGN(
        proposer, detail::proposer_key(before, proposer_keys, contract, h.proposer, h.time_ms));
  }
  detail::StateWriteLog log;
  Result<void> replayed = core::success();
  const MerkleFrontier frontier_before = frontier;
  const VerifyReport report_before = report;
  auto written = scratch.write([&](WriteTxn& txn) -> Result<void> {
    detail::StateWriteLog attempt;  // a retried write (map growth) starts over
    frontier = frontier_before;
    report = report_before;
    replayed = replay_transactions(h, txn, attempt);
    if (!replayed && !detail::is_storage_failure(replayed.error().code))
      return core::success();  // keep the finding
    if (!replayed) return replayed.error();
    log = std::move(attempt);
    return core::success();
  });
  if (!written) return written.error();
  if (!replayed) return replayed.error();

  if (height == 0) {
    auto key = std::find_if(
        proposer_keys.begin(), proposer_keys.end(),
        [&](const core::Bytes& spki) { return core::public_key_fingerprint(spki) == h.proposer; });
    if (key != proposer_keys.end()) proposer = *key;
  }
  if (!proposer)
    return corrupt_at(height, "proposer is not a genesis proposer nor a member's node key");
  if (!verify_header_signature(h, *proposer))
    return corrupt_at(height, "proposer signature does not verify");

  auto root = root_at(frontier, frontier.size());
  if (!root) return corrupt_at(height, root.error().message);
  if (*root != h.merkle_root)
    return corrupt_at(height, "Merkle root does not match the transactions");
  if (detail::chain_state_digest(prev ? prev->header.state_digest : core::Digest{}, log.finish()) !=
      h.state_digest) {
    return corrupt_at(height, "state digest does not match the replayed state transitions");
  }
  report.blocks = height + 1;
  report.tip_hash = block->hash;
  report.root = h.merkle_root;
  return core::success();
}

Result<void> Verifier::replay_transactions(const BlockHeader& h, WriteTxn& txn,
                                           detail::StateWriteLog& log) {
  const std::uint64_t first = h.log_size - h.tx_count;
  MerkleTable stored_nodes(snapshot);
  for (std::uint64_t seq = first; seq < h.log_size; ++seq) {
    MEDLEDGER_TRY_ASSIGN(auto entry, snapshot.get(Table::kTxs, u64_key(seq)));
    if (!entry || entry->size() <= 2)
      return corrupt_at(h.height, "transaction " + std::to_string(seq) + " is missing");
    std::uint16_t stored_code = static_cast<std::uint16_t>(((*entry)[0] << 8) | (*entry)[1]);
    std::string wire(entry->begin() + 2, entry->end());
    auto tx = decode_transaction(wire, {kMaxTransactionBytesCeiling, kMaxTransactionSignatures});
    if (!tx)
      return corrupt_at(h.height, "transaction " + std::to_string(seq) +
                                      " does not decode: " + tx.error().message);
    if ((h.height == 0) != (tx->type == kTxGenesis && seq == 0)) {
      return corrupt_at(h.height,
                        "the genesis transaction must be transaction 0, alone in block 0");
    }
    core::Digest id = tx_id(*tx);
    MEDLEDGER_TRY_ASSIGN(auto indexed, snapshot.get(Table::kTxIds, id));
    if (!indexed || read_u64_key(*indexed) != seq) {
      return corrupt_at(h.height, "txid index does not map transaction " + std::to_string(seq) +
                                      " to its sequence");
    }
    if (h.height == 0) {
      auto keys = genesis_proposer_keys(tx->body);
      if (!keys) return corrupt_at(0, keys.error().message);
      proposer_keys = std::move(*keys);
    }
    BlockContext ctx{h.height, h.time_ms, seq, id};
    auto code = detail::execute_transaction(contract, *tx, txn, ctx, log);
    if (!code) return code.error();
    if (*code != stored_code) {
      return corrupt_at(h.height, "transaction " + std::to_string(seq) +
                                      " is recorded with result " + std::to_string(stored_code) +
                                      " but the contract gives " + std::to_string(*code));
    }
    if (stored_code != kTxAccepted) ++report.rejected;
    auto completed = frontier.append(merkle_leaf_hash(*entry));
    if (!completed) return corrupt_at(h.height, completed.error().message);
    for (const MerkleNode& node : *completed) {
      if (stored_nodes.node(node.level, node.index) != node.hash) {
        return corrupt_at(h.height, "stored Merkle node (" + std::to_string(node.level) + ", " +
                                        std::to_string(node.index) +
                                        ") does not match the transactions");
      }
    }
    ++report.transactions;
  }
  return core::success();
}

Result<void> Verifier::final_checks() {
  const std::uint64_t n = report.transactions;
  auto expect_count = [&](Table table, std::uint64_t expected) -> Result<void> {
    MEDLEDGER_TRY_ASSIGN(auto count, snapshot.count(table));
    if (count != expected) {
      return make_error(ErrorCode::kLedgerCorrupt, "tables: " + std::string(table_name(table)) +
                                                       " holds " + std::to_string(count) +
                                                       " entries, the log implies " +
                                                       std::to_string(expected));
    }
    return core::success();
  };
  MEDLEDGER_TRY(expect_count(Table::kBlocks, report.blocks));
  MEDLEDGER_TRY(expect_count(Table::kTxs, n));
  MEDLEDGER_TRY(expect_count(Table::kTxIds, n));
  MEDLEDGER_TRY(expect_count(Table::kMerkle, 2 * n - static_cast<std::uint64_t>(std::popcount(n))));

  MEDLEDGER_TRY_ASSIGN(auto replay, scratch.read());
  auto ours = Cursor::open(snapshot, Table::kState);
  auto theirs = Cursor::open(replay, Table::kState);
  if (!ours) return ours.error();
  if (!theirs) return theirs.error();
  auto a = ours->first();
  auto b = theirs->first();
  while (true) {
    if (!a) return a.error();
    if (!b) return b.error();
    if (!*a && !*b) return core::success();
    auto same = [](core::ByteView x, core::ByteView y) {
      return std::equal(x.begin(), x.end(), y.begin(), y.end());
    };
    if (!*a || !*b || !same((*a)->key, (*b)->key) || !same((*a)->value, (*b)->value)) {
      const Entry& e = a->has_value() ? **a : **b;
      std::string key(e.key.begin(), e.key.end());
      std::replace(key.begin(), key.end(), '\0', '/');
      return make_error(ErrorCode::kLedgerCorrupt,
                        "state: entry \"" + key + "\" differs from the replayed state");
    }
    ++report.state_entries;
    a = ours->next();
    b = theirs->next();
  }
}

}  // namespace

Result<VerifyReport> verify_ledger(const Ledger& ledger, Contract& contract,
                                   const VerifyOptions& options) {
  MEDLEDGER_TRY_ASSIGN(auto scratch_dir, ScratchDir::make(options.scratch_parent));
  StoreOptions scratch_options;
  scratch_options.durable = false;  // thrown away at the end
  MEDLEDGER_TRY_ASSIGN(auto scratch, Store::open(scratch_dir.path(), scratch_options));
  auto snapshot = ledger.store().read();
  if (!snapshot) return snapshot.error();

  Verifier v{ledger, contract, *snapshot, *scratch, {}, {}, {}};
  auto tip = detail::read_tip(*snapshot);
  if (!tip) return tip.error();
  if (!*tip) return make_error(ErrorCode::kLedgerCorrupt, "block 0: missing");
  std::uint64_t tip_height = (*tip)->header.height;

  auto cursor = Cursor::open(*snapshot, Table::kBlocks);
  if (!cursor) return cursor.error();
  std::optional<Block> prev;
  std::uint64_t height = 0;
  for (auto entry = cursor->first();; entry = cursor->next(), ++height) {
    if (!entry) return entry.error();
    if (!*entry) break;
    if (read_u64_key((*entry)->key) != height)
      return corrupt_at(height, "missing (block keys are not contiguous)");
    MEDLEDGER_TRY(v.verify_block(height, (*entry)->value, prev));
    prev = *detail::decode_block((*entry)->value);
    if (options.progress) options.progress(height, tip_height);
  }
  MEDLEDGER_TRY(v.final_checks());
  return v.report;
}

}  // namespace medledger::ledger
