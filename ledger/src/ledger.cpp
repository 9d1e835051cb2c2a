// Ledger: create/open and the read side (ledger.h). Block building: ledger_append.cpp.
#include "medledger/ledger/ledger.h"

#include <openssl/rand.h>

#include <algorithm>

#include "ledger_internal.h"
#include "medledger/core/assert.h"
#include "medledger/ledger/genesis.h"
#include "medledger/ledger/merkle_table.h"

namespace medledger::ledger {
namespace {

using core::ErrorCode;
using core::make_error;
using core::Result;

constexpr std::string_view kMetaFormat = "format";
constexpr std::size_t kGenesisNonceBytes = kMinNonceBytes;
constexpr std::size_t kResultCodeBytes = 2;
constexpr std::string_view kOriginPrefix = "medledger/";

core::ByteView view(std::string_view s) {
  return core::ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

core::Error not_found(const std::string& what) {
  return make_error(ErrorCode::kLedgerNotFound, "ledger: " + what);
}

Result<StoredTransaction> decode_entry(std::uint64_t sequence, core::ByteView entry) {
  if (entry.size() <= kResultCodeBytes) {
    return make_error(ErrorCode::kLedgerCorrupt,
                      "ledger: transaction " + std::to_string(sequence) + " is truncated");
  }
  StoredTransaction tx;
  tx.sequence = sequence;
  tx.result = static_cast<std::uint16_t>((entry[0] << 8) | entry[1]);
  tx.wire.assign(entry.begin() + kResultCodeBytes, entry.end());
  return tx;
}

}  // namespace

Result<PendingTransaction> prepare_transaction(std::string wire, const TransactionLimits& limits) {
  auto tx = decode_transaction(wire, limits);
  if (!tx) return tx.error();
  PendingTransaction pending;
  pending.id = tx_id(*tx);
  pending.tx = std::move(*tx);
  pending.wire = std::move(wire);
  return pending;
}

core::Bytes log_entry(std::uint16_t result, std::string_view wire) {
  core::Bytes entry;
  entry.reserve(kResultCodeBytes + wire.size());
  entry.push_back(static_cast<std::uint8_t>(result >> 8));
  entry.push_back(static_cast<std::uint8_t>(result & 0xff));
  entry.insert(entry.end(), wire.begin(), wire.end());
  return entry;
}

Result<std::unique_ptr<Ledger>> Ledger::create(const std::filesystem::path& dir,
                                               const boost::json::object& document,
                                               Contract& contract, core::Signer& proposer,
                                               std::int64_t time_ms, const LedgerOptions& options) {
  MEDLEDGER_TRY_ASSIGN(auto keys, genesis_proposer_keys(document));
  if (std::find(keys.begin(), keys.end(), proposer.public_key_spki()) == keys.end()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "ledger: the genesis proposer is not listed in \"proposers\"");
  }
  Transaction genesis;
  genesis.type = std::string(kTxGenesis);
  genesis.time_ms = time_ms;
  genesis.nonce.resize(kGenesisNonceBytes);
  if (RAND_bytes(genesis.nonce.data(), static_cast<int>(genesis.nonce.size())) != 1) {
    return make_error(ErrorCode::kCryptoError, "ledger: RAND_bytes failed");
  }
  genesis.body = document;
  MEDLEDGER_TRY(check_transaction(genesis, options.tx_limits));
  MEDLEDGER_TRY_ASSIGN(auto pending,
                       prepare_transaction(encode_transaction(genesis), options.tx_limits));

  auto store = Store::open(dir, options.store);
  if (!store) return store.error();
  std::vector<PendingTransaction> batch{std::move(pending)};
  bool rejected = false;
  std::uint16_t code = kTxAccepted;
  auto written = (*store)->write([&](WriteTxn& txn) -> Result<void> {
    auto existing = txn.count(Table::kBlocks);
    if (!existing) return existing.error();
    if (*existing != 0)
      return make_error(ErrorCode::kAlreadyExists,
                        "ledger: " + dir.string() + " already holds a ledger");
    auto format = u64_key(kLedgerFormatVersion);
    MEDLEDGER_TRY(txn.put(Table::kMeta, view(kMetaFormat), format));
    auto built = detail::build_block(txn, std::nullopt, batch, time_ms, contract, proposer);
    if (!built) return built.error();
    code = built->outcomes.front().result;
    rejected = code != kTxAccepted;
    // A rejected genesis would found a ledger without a configuration: do not commit.
    if (rejected)
      return make_error(ErrorCode::kTxRejected,
                        "ledger: the contract rejected the genesis configuration");
    return core::success();
  });
  if (!written) return written.error();
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(*store), options));
  MEDLEDGER_TRY(ledger->load_genesis());
  return ledger;
}

Result<std::unique_ptr<Ledger>> Ledger::create_replica(const std::filesystem::path& dir,
                                                       const OrderedBlock& genesis,
                                                       Contract& contract,
                                                       const BlockCheckOptions& check,
                                                       const LedgerOptions& options) {
  // The proposers of block 0 are those its own configuration lists.
  if (genesis.wires.size() != 1)
    return make_error(ErrorCode::kBlockInvalid, "block 0: holds other than one transaction");
  auto tx = decode_transaction(genesis.wires.front(), options.tx_limits);
  if (!tx || tx->type != kTxGenesis)
    return make_error(ErrorCode::kBlockInvalid, "block 0: not a genesis transaction");
  auto keys = genesis_proposer_keys(tx->body);
  if (!keys) return make_error(ErrorCode::kBlockInvalid, "block 0: " + keys.error().message);
  MEDLEDGER_TRY_ASSIGN(auto store, Store::open(dir, options.store));
  auto written = store->write([&](WriteTxn& txn) -> Result<void> {
    MEDLEDGER_TRY_ASSIGN(auto existing, txn.count(Table::kBlocks));
    if (existing != 0)
      return make_error(ErrorCode::kAlreadyExists,
                        "ledger: " + dir.string() + " already holds a ledger");
    auto format = u64_key(kLedgerFormatVersion);
    MEDLEDGER_TRY(txn.put(Table::kMeta, view(kMetaFormat), format));
    MEDLEDGER_TRY(detail::check_and_store(txn, std::nullopt, genesis, *keys, contract, check,
                                          options.tx_limits));
    return core::success();
  });
  if (!written) return written.error();
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(store), options));
  MEDLEDGER_TRY(ledger->load_genesis());
  return ledger;
}

Result<std::unique_ptr<Ledger>> Ledger::open(const std::filesystem::path& dir,
                                             const LedgerOptions& options) {
  if (!std::filesystem::exists(dir / "data.mdb")) return not_found("no ledger in " + dir.string());
  MEDLEDGER_TRY_ASSIGN(auto store, Store::open(dir, options.store));
  {
    MEDLEDGER_TRY_ASSIGN(auto txn, store->read());
    auto format = txn.get(Table::kMeta, view(kMetaFormat));
    if (!format) return format.error();
    auto version = *format ? read_u64_key(**format) : std::nullopt;
    if (version != kLedgerFormatVersion) {
      return make_error(ErrorCode::kLedgerCorrupt,
                        "ledger: " + dir.string() + " has table format " +
                            (version ? std::to_string(*version) : "(unreadable)") +
                            ", this build reads format " + std::to_string(kLedgerFormatVersion));
    }
  }
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(store), options));
  MEDLEDGER_TRY(ledger->load_genesis());
  return ledger;
}

Result<void> Ledger::load_genesis() {
  auto genesis = block(0);
  if (!genesis)
    return genesis.error().code == ErrorCode::kLedgerNotFound ? not_found("no genesis block")
                                                              : genesis.error();
  MEDLEDGER_TRY_ASSIGN(auto tx, transaction(0));
  auto decoded = decode_transaction(tx.wire, options_.tx_limits);
  if (!decoded || decoded->type != kTxGenesis) {
    return make_error(ErrorCode::kLedgerCorrupt,
                      "ledger: transaction 0 is not a readable genesis transaction");
  }
  auto keys = genesis_proposer_keys(decoded->body);
  if (!keys) return make_error(ErrorCode::kLedgerCorrupt, "ledger: " + keys.error().message);
  genesis_document_ = std::move(decoded->body);
  proposer_keys_ = std::move(*keys);
  genesis_hash_ = genesis->hash;
  return core::success();
}

std::string Ledger::origin() const {
  return std::string(kOriginPrefix) + core::hex_encode(genesis_hash_);
}

Result<ChainTip> Ledger::tip() const {
  MEDLEDGER_TRY_ASSIGN(auto txn, store_->read());
  MEDLEDGER_TRY_ASSIGN(auto tip, detail::read_tip(txn));
  if (!tip) return not_found("no blocks");
  return ChainTip{std::move(*tip), genesis_hash_};
}

Result<Block> Ledger::block(std::uint64_t height) const {
  MEDLEDGER_TRY_ASSIGN(auto txn, store_->read());
  MEDLEDGER_TRY_ASSIGN(auto stored, txn.get(Table::kBlocks, u64_key(height)));
  if (!stored) return not_found("no block " + std::to_string(height));
  return detail::decode_block(*stored);
}

Result<std::uint64_t> Ledger::block_of(std::uint64_t sequence) const {
  MEDLEDGER_TRY_ASSIGN(auto top, tip());
  if (sequence >= top.block.header.log_size)
    return not_found("no transaction " + std::to_string(sequence));
  // The first block whose log_size exceeds `sequence`.
  std::uint64_t lo = 0;
  std::uint64_t hi = top.block.header.height;
  while (lo < hi) {
    std::uint64_t mid = lo + (hi - lo) / 2;
    MEDLEDGER_TRY_ASSIGN(auto b, block(mid));
    if (b.header.log_size > sequence)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

Result<StoredTransaction> Ledger::transaction(std::uint64_t sequence) const {
  MEDLEDGER_TRY_ASSIGN(auto txn, store_->read());
  MEDLEDGER_TRY_ASSIGN(auto stored, txn.get(Table::kTxs, u64_key(sequence)));
  if (!stored) return not_found("no transaction " + std::to_string(sequence));
  auto tx = decode_entry(sequence, *stored);
  if (!tx) return tx.error();
  auto decoded =
      decode_transaction(tx->wire, {kMaxTransactionBytesCeiling, kMaxTransactionSignatures});
  if (decoded) tx->tx_id = tx_id(*decoded);
  return tx;
}

Result<void> Ledger::scan_log(
    std::uint64_t from, std::uint64_t to,
    const std::function<bool(std::uint64_t, std::uint16_t, std::string_view)>& visit) const {
  if (from >= to) return core::success();
  MEDLEDGER_TRY_ASSIGN(auto txn, store_->read());
  MEDLEDGER_TRY_ASSIGN(auto cursor, Cursor::open(txn, Table::kTxs));
  auto entry = cursor.seek(u64_key(from));
  for (std::uint64_t expected = from; expected < to; ++expected) {
    if (!entry) return entry.error();
    if (!*entry) return core::success();  // the end of the log
    auto sequence = read_u64_key((*entry)->key);
    if (!sequence || *sequence != expected || (*entry)->value.size() <= kResultCodeBytes) {
      return make_error(
          ErrorCode::kLedgerCorrupt,
          "ledger: the txs table is not a gapless log at " + std::to_string(expected));
    }
    const core::ByteView value = (*entry)->value;
    const auto result = static_cast<std::uint16_t>((value[0] << 8) | value[1]);
    const std::string_view wire(reinterpret_cast<const char*>(value.data()) + kResultCodeBytes,
                                value.size() - kResultCodeBytes);
    if (!visit(expected, result, wire)) return core::success();
    entry = cursor.next();
  }
  return core::success();
}

Result<std::optional<std::uint64_t>> Ledger::find(const core::Digest& id) const {
  MEDLEDGER_TRY_ASSIGN(auto txn, store_->read());
  MEDLEDGER_TRY_ASSIGN(auto stored, txn.get(Table::kTxIds, id));
  if (!stored) return std::optional<std::uint64_t>{};
  auto sequence = read_u64_key(*stored);
  if (!sequence)
    return make_error(ErrorCode::kLedgerCorrupt, "ledger: a txid entry is not 8 bytes");
  return sequence;
}

Result<MerkleHash> Ledger::root_at(std::uint64_t size) const {
  MEDLEDGER_TRY_ASSIGN(auto txn, store_->read());
  return ledger::root_at(MerkleTable(txn), size);
}

Result<std::vector<MerkleHash>> Ledger::inclusion_proof(std::uint64_t sequence,
                                                        std::uint64_t size) const {
  MEDLEDGER_TRY_ASSIGN(auto txn, store_->read());
  return ledger::inclusion_proof(MerkleTable(txn), sequence, size);
}

Result<std::vector<MerkleHash>> Ledger::consistency_proof(std::uint64_t old_size,
                                                          std::uint64_t new_size) const {
  MEDLEDGER_TRY_ASSIGN(auto txn, store_->read());
  return ledger::consistency_proof(MerkleTable(txn), old_size, new_size);
}

}  // namespace medledger::ledger
