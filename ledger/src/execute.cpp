// Contract execution inside a block's write transaction (execute.h).
#include "execute.h"

#include <algorithm>
#include <string>

#include "medledger/core/assert.h"
#include "medledger/core/signer.h"

namespace medledger::ledger::detail {
namespace {

using core::ErrorCode;
using core::make_error;
using core::Result;

constexpr std::uint8_t kTableSeparator = 0x00;
constexpr std::uint8_t kOpPut = 1;
constexpr std::uint8_t kOpErase = 2;

bool valid_table_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool valid_table_name(std::string_view table) {
  return !table.empty() && table.size() <= kMaxStateTableName &&
         std::all_of(table.begin(), table.end(), valid_table_char);
}

core::Error bad_table_name() {
  return make_error(ErrorCode::kInvalidArgument,
                    "state: table name must be 1-64 characters of [a-z0-9._-]");
}

void append_u32(core::Bytes& out, std::size_t n) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>((n >> shift) & 0xff));
}

/// Reads through a transaction (the block's txn during validate).
class TxnStateView final : public StateView {
 public:
  explicit TxnStateView(const Txn& txn) : txn_(txn) {}
  Result<std::optional<core::Bytes>> get(std::string_view table,
                                         core::ByteView key) const override {
    MEDLEDGER_TRY_ASSIGN(auto k, state_key(table, key));
    MEDLEDGER_TRY_ASSIGN(auto v, txn_.get(Table::kState, k));
    if (!v) return std::optional<core::Bytes>{};
    return std::optional<core::Bytes>(core::Bytes(v->begin(), v->end()));
  }
  Result<void> scan(
      std::string_view table, core::ByteView prefix,
      const std::function<bool(core::ByteView, core::ByteView)>& visit) const override {
    return scan_state(txn_, table, prefix, visit);
  }

 private:
  const Txn& txn_;
};

/// Writes into a nested txn opened at the first write (most transactions that only
/// read never pay for one); records the writes for the state digest.
class NestedStateWriter final : public StateWriter {
 public:
  explicit NestedStateWriter(WriteTxn& parent) : parent_(parent) {}

  Result<std::optional<core::Bytes>> get(std::string_view table,
                                         core::ByteView key) const override {
    return TxnStateView(current()).get(table, key);
  }
  Result<void> scan(
      std::string_view table, core::ByteView prefix,
      const std::function<bool(core::ByteView, core::ByteView)>& visit) const override {
    return scan_state(current(), table, prefix, visit);
  }
  Result<void> put(std::string_view table, core::ByteView key, core::ByteView value) override {
    MEDLEDGER_TRY_ASSIGN(auto k, state_key(table, key));
    if (value.size() > kMaxStateValueBytes)
      return make_error(ErrorCode::kInvalidArgument, "state: value too large");
    MEDLEDGER_TRY(ensure_child());
    MEDLEDGER_TRY(child_->put(Table::kState, k, value));
    record(kOpPut, k, value);
    return core::success();
  }
  Result<void> erase(std::string_view table, core::ByteView key) override {
    MEDLEDGER_TRY_ASSIGN(auto k, state_key(table, key));
    MEDLEDGER_TRY(ensure_child());
    MEDLEDGER_TRY_ASSIGN(auto erased, child_->erase(Table::kState, k));
    if (erased) record(kOpErase, k, {});
    return core::success();
  }

  /// Commits the writes into the block's txn; returns the encoded write list.
  Result<core::Bytes> commit() {
    if (child_) MEDLEDGER_TRY(child_->commit_nested());
    child_.reset();
    return std::move(writes_);
  }
  void abandon() { child_.reset(); }  // aborts the nested txn

 private:
  const Txn& current() const { return child_ ? static_cast<const Txn&>(*child_) : parent_; }
  Result<void> ensure_child() {
    if (child_) return core::success();
    MEDLEDGER_TRY_ASSIGN(auto child, parent_.nested());
    child_.emplace(std::move(child));
    return core::success();
  }
  void record(std::uint8_t op, core::ByteView key, core::ByteView value) {
    writes_.push_back(op);
    append_u32(writes_, key.size());
    writes_.insert(writes_.end(), key.begin(), key.end());
    append_u32(writes_, value.size());
    writes_.insert(writes_.end(), value.begin(), value.end());
  }

  WriteTxn& parent_;
  std::optional<WriteTxn> child_;
  core::Bytes writes_;
};

}  // namespace

Result<void> scan_state(const Txn& txn, std::string_view table, core::ByteView prefix,
                        const std::function<bool(core::ByteView, core::ByteView)>& visit) {
  if (!valid_table_name(table)) return bad_table_name();
  core::Bytes seek_key(table.begin(), table.end());
  seek_key.push_back(kTableSeparator);
  seek_key.insert(seek_key.end(), prefix.begin(), prefix.end());
  std::size_t table_prefix = table.size() + 1;
  MEDLEDGER_TRY_ASSIGN(auto cursor, Cursor::open(txn, Table::kState));
  auto entry = cursor.seek(seek_key);
  while (true) {
    if (!entry) return entry.error();
    if (!*entry) return core::success();
    core::ByteView key = (*entry)->key;
    if (key.size() < seek_key.size() ||
        !std::equal(seek_key.begin(), seek_key.end(), key.begin())) {
      return core::success();
    }
    if (!visit(key.subspan(table_prefix), (*entry)->value)) return core::success();
    entry = cursor.next();
  }
}

Result<core::Bytes> state_key(std::string_view table, core::ByteView key) {
  if (!valid_table_name(table)) return bad_table_name();
  if (key.empty() || key.size() > kMaxStateKeyBytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "state: key must be 1-" + std::to_string(kMaxStateKeyBytes) + " bytes");
  }
  core::Bytes out(table.begin(), table.end());
  out.push_back(kTableSeparator);
  out.insert(out.end(), key.begin(), key.end());
  return out;
}

core::Digest chain_state_digest(const core::Digest& previous, const core::Digest& block_writes) {
  core::Sha256 h;
  h.update(previous);
  h.update(block_writes);
  return h.finish();
}

bool is_storage_failure(ErrorCode code) {
  return code == ErrorCode::kLedgerStorage || code == ErrorCode::kLedgerFull;
}

Result<std::uint16_t> execute_transaction(Contract& contract, const Transaction& tx,
                                          WriteTxn& block_txn, const BlockContext& ctx,
                                          StateWriteLog& log) {
  {
    TxnStateView view(block_txn);
    auto valid = contract.validate(tx, view, ctx);
    if (!valid) {
      if (is_storage_failure(valid.error().code) || block_txn.map_full()) return valid.error();
      return static_cast<std::uint16_t>(valid.error().code);
    }
  }
  NestedStateWriter writer(block_txn);
  auto applied = contract.apply(tx, writer, ctx);
  if (!applied) {
    writer.abandon();
    if (is_storage_failure(applied.error().code) || block_txn.map_full()) return applied.error();
    // A contract must never accept in validate and reject in apply with a success
    // code; an error code of 0 cannot happen (ErrorCode values start at 1).
    return static_cast<std::uint16_t>(applied.error().code);
  }
  MEDLEDGER_TRY_ASSIGN(auto writes, writer.commit());
  log.add(writes);
  return kTxAccepted;
}

Result<std::optional<core::Bytes>> proposer_key(const Txn& txn,
                                                const std::vector<core::Bytes>& genesis_keys,
                                                Contract& contract, const core::Digest& fingerprint,
                                                std::int64_t at_ms) {
  for (const core::Bytes& spki : genesis_keys)
    if (core::public_key_fingerprint(spki) == fingerprint) return std::optional<core::Bytes>(spki);
  TxnStateView state(txn);
  return contract.member_node_key(state, fingerprint, at_ms);
}

}  // namespace medledger::ledger::detail
