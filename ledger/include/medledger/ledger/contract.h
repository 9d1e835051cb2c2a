// Contract: the rules that decide which transactions are valid and how they change
// state. The ledger calls it for every transaction of a block, in log order, inside
// the block's single write transaction; verify calls it again on a fresh state.
//
// Two steps keep "nothing half-applied" simple:
//   validate(tx, view, ctx)   reads state only; an error rejects the transaction
//                             (recorded in the block with error.code, state unchanged);
//   apply(tx, writer, ctx)    runs only after validate succeeded, in a nested LMDB
//                             transaction: if it fails, every write it made is dropped
//                             and the transaction is recorded with the error's code
//                             (storage errors, kLedgerStorage / kLedgerFull, abort the
//                             whole block instead, which is then retried or failed).
//
// Contracts must be deterministic (CONVENTIONS.md 7): the same transactions on the
// same state give the same codes and the same writes on every node and in verify.
// No clocks (use ctx.time_ms), no randomness, no unordered iteration.
//
// State: key/value pairs in named tables. Table names are 1..kMaxStateTableName
// bytes of [a-z0-9._-]; keys 1..kMaxStateKeyBytes bytes; values up to
// kMaxStateValueBytes. Out-of-bounds names/keys/values: kInvalidArgument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/sha256.h"
#include "medledger/ledger/transaction.h"

namespace medledger::ledger {

/// Longest state table name.
inline constexpr std::size_t kMaxStateTableName = 64;
/// Longest state key: LMDB's default key limit (511) minus the table name and separator.
inline constexpr std::size_t kMaxStateKeyBytes = 400;
/// Largest state value: 1 MiB, the transaction ceiling (state is derived from transactions).
inline constexpr std::size_t kMaxStateValueBytes = 1024 * 1024;

/// Where a transaction sits: the block being built and the transaction's log position.
struct BlockContext {
  std::uint64_t height = 0;    // the block's height (0 = genesis)
  std::int64_t time_ms = 0;    // the block's time (set by the orderer), unix milliseconds
  std::uint64_t sequence = 0;  // the transaction's index in the log (Merkle leaf index)
  core::Digest tx_id{};
};

/// Read access to contract state (a snapshot inside the block's transaction).
class StateView {
 public:
  virtual ~StateView() = default;
  /// The value of `key` in `table`, nullopt if absent. Cost: one B-tree lookup.
  virtual core::Result<std::optional<core::Bytes>> get(std::string_view table,
                                                       core::ByteView key) const = 0;
  /// Calls `visit(key, value)` for every key of `table` that starts with `prefix`, in
  /// byte order, until it returns false. Cost: one cursor walk over the matches.
  virtual core::Result<void> scan(
      std::string_view table, core::ByteView prefix,
      const std::function<bool(core::ByteView key, core::ByteView value)>& visit) const = 0;
};

/// Write access within one transaction's apply step (its own nested LMDB txn).
class StateWriter : public StateView {
 public:
  /// Sets `key` in `table` to `value`. Cost: in-memory B-tree insert; I/O at block commit.
  virtual core::Result<void> put(std::string_view table, core::ByteView key,
                                 core::ByteView value) = 0;
  /// Removes `key` from `table` (no error if absent).
  virtual core::Result<void> erase(std::string_view table, core::ByteView key) = 0;
};

class Contract {
 public:
  virtual ~Contract() = default;
  /// A short name for logs and verify reports.
  virtual std::string_view name() const = 0;
  /// Accepts or rejects `tx` against the current state; reads only.
  virtual core::Result<void> validate(const Transaction& tx, const StateView& state,
                                      const BlockContext& ctx) = 0;
  /// Applies an accepted `tx`. An error drops every write of this call.
  virtual core::Result<void> apply(const Transaction& tx, StateWriter& state,
                                   const BlockContext& ctx) = 0;
  /// Besides the genesis proposers, who may propose blocks: the SPKI (DER) of a current
  /// member's node key whose SHA-256 fingerprint is `spki_fingerprint`, at `at_ms` (the
  /// block's time), nullopt if none. Membership lives on the ledger, so admitting or
  /// removing a member changes it.
  virtual core::Result<std::optional<core::Bytes>> member_node_key(
      const StateView& state, const core::Digest& spki_fingerprint, std::int64_t at_ms) {
    (void)state;
    (void)spki_fingerprint;
    (void)at_ms;
    return std::optional<core::Bytes>{};
  }
};

/// Code stored for an accepted transaction; a rejected one stores its ErrorCode value.
inline constexpr std::uint16_t kTxAccepted = 0;

}  // namespace medledger::ledger
