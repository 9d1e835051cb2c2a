// RecordsContract: dispatch by type, the time window, and the validate -> apply memo.
#include "medledger/ledger/records_contract.h"

#include "medledger/core/assert.h"
#include "transaction_types.h"

namespace medledger::ledger {

using core::ErrorCode;
using core::make_error;
using core::Result;

/// The writes of the transaction validate() accepted last, so apply() of the same
/// transaction (same tx_id, height and sequence) does not verify everything again.
struct RecordsContract::Memo {
  core::Digest tx_id{};
  std::uint64_t height = 0;
  std::uint64_t sequence = 0;
  records::Plan plan;
};

namespace {

/// Replay bound: the ledger refuses a repeated tx_id; the window refuses an old
/// transaction re-signed with a new nonce being passed off as current.
Result<void> check_time_window(const Transaction& tx, const BlockContext& ctx) {
  const std::int64_t skew =
      tx.time_ms > ctx.time_ms ? tx.time_ms - ctx.time_ms : ctx.time_ms - tx.time_ms;
  if (skew > kTxTimeWindowMs) {
    return make_error(ErrorCode::kTxTimeOutsideWindow,
                      "transaction time is " + std::to_string(skew) +
                          " ms from the block time (window " + std::to_string(kTxTimeWindowMs) +
                          " ms)");
  }
  return core::success();
}

/// Dispatch through the table of types (transaction_types.h).
Result<records::Plan> check(const Transaction& tx, const StateView& state,
                            const BlockContext& ctx) {
  const records::TransactionTypeSpec* spec = records::find_transaction_type(tx.type);
  if (spec == nullptr || spec->time_window == records::TimeWindow::kChecked)
    MEDLEDGER_TRY(check_time_window(tx, ctx));
  if (spec == nullptr)
    return make_error(ErrorCode::kTxUnknownType, "records: unknown transaction type " + tx.type);
  return spec->run(*spec, tx, state, ctx);
}

bool same_position(const RecordsContract::Memo& memo, const BlockContext& ctx) {
  return memo.tx_id == ctx.tx_id && memo.height == ctx.height && memo.sequence == ctx.sequence;
}

}  // namespace

RecordsContract::RecordsContract() = default;
RecordsContract::~RecordsContract() = default;

Result<void> RecordsContract::validate(const Transaction& tx, const StateView& state,
                                       const BlockContext& ctx) {
  memo_.reset();
  MEDLEDGER_TRY_ASSIGN(auto plan, check(tx, state, ctx));
  memo_ = std::make_unique<Memo>(Memo{ctx.tx_id, ctx.height, ctx.sequence, std::move(plan)});
  return core::success();
}

Result<void> RecordsContract::apply(const Transaction& tx, StateWriter& state,
                                    const BlockContext& ctx) {
  records::Plan plan;
  if (memo_ && same_position(*memo_, ctx)) {
    plan = std::move(memo_->plan);
  } else {
    // Not preceded by validate on this instance: check again on the writer's view.
    MEDLEDGER_TRY_ASSIGN(auto checked, check(tx, state, ctx));
    plan = std::move(checked);
  }
  memo_.reset();
  for (const records::Write& write : plan) {
    MEDLEDGER_TRY(state.put(write.table, write.key, core::to_bytes(write.value)));
  }
  return core::success();
}

}  // namespace medledger::ledger
