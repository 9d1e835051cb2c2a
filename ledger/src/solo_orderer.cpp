// The embedded solo orderer (ordering.h).
#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>

#include "medledger/core/assert.h"
#include "medledger/ledger/ordering.h"

namespace medledger::ledger {
namespace {

using core::ErrorCode;
using core::make_error;
using core::Result;

SoloOptions clamp(SoloOptions o) {
  o.max_batch_count = std::clamp<std::size_t>(o.max_batch_count, 1, kMaxBlockTransactions);
  o.max_batch_bytes = std::clamp<std::size_t>(o.max_batch_bytes, 1, kMaxBatchBytes);
  o.batch_delay = std::clamp(o.batch_delay, std::chrono::milliseconds(0), kMaxBatchDelay);
  o.max_queued = std::clamp<std::size_t>(o.max_queued, 1, kMaxQueuedCeiling);
  return o;
}

}  // namespace

std::int64_t unix_time_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void tell(const CommitCallback& on_commit, Result<Receipt> outcome) {
  try {
    on_commit(std::move(outcome));
  } catch (...) {}
}

core::Error already_logged(const core::Digest& id) {
  return make_error(ErrorCode::kTxDuplicate,
                    "ordering: transaction " + core::hex_encode(id) + " is already in the log");
}

Result<void> ensure_not_logged(const Ledger& ledger, const core::Digest& id) {
  MEDLEDGER_TRY_ASSIGN(auto logged, ledger.find(id));
  if (logged) return already_logged(id);
  return core::success();
}

Result<void> hold_forwarded(Orderer& orderer, std::string wire) {
  // submit_then refuses at once (on this thread) or answers when the block commits; only
  // the former matters here.
  struct Refusal {
    std::mutex mutex;
    bool returned = false;
    std::optional<core::Error> error;
  };
  auto refusal = std::make_shared<Refusal>();
  orderer.submit_then(std::move(wire), [refusal](Result<Receipt> outcome) {
    std::lock_guard lock(refusal->mutex);
    if (!refusal->returned && !outcome) refusal->error = outcome.error();
  });
  std::lock_guard lock(refusal->mutex);
  refusal->returned = true;
  if (!refusal->error || refusal->error->code == ErrorCode::kTxDuplicate) return core::success();
  return *refusal->error;
}

std::optional<std::chrono::milliseconds> CommitClock::running_for() const {
  const std::int64_t started = started_.load();
  if (started == 0) return std::nullopt;
  const auto since = std::chrono::steady_clock::now().time_since_epoch() -
                     std::chrono::steady_clock::duration(started);
  return std::chrono::duration_cast<std::chrono::milliseconds>(since);
}

SoloOrderer::SoloOrderer(Ledger& ledger, Contract& contract, core::Signer& signer,
                         const SoloOptions& options)
    : ledger_(ledger), contract_(contract), signer_(signer), options_(clamp(options)) {}

std::unique_ptr<SoloOrderer> SoloOrderer::start(Ledger& ledger, Contract& contract,
                                                core::Signer& signer, const SoloOptions& options) {
  std::unique_ptr<SoloOrderer> orderer(new SoloOrderer(ledger, contract, signer, options));
  orderer->writer_ = std::thread([o = orderer.get()] { o->run(); });
  return orderer;
}

SoloOrderer::~SoloOrderer() { stop(); }

void SoloOrderer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  arrived_.notify_all();
  if (writer_.joinable()) writer_.join();
}

std::uint64_t SoloOrderer::blocks_committed() const {
  std::lock_guard lock(mutex_);
  return blocks_;
}

std::future<Result<Receipt>> Orderer::submit(std::string wire) {
  auto promise = std::make_shared<std::promise<Result<Receipt>>>();
  auto future = promise->get_future();
  submit_then(std::move(wire),
              [promise](Result<Receipt> result) { promise->set_value(std::move(result)); });
  return future;
}

void SoloOrderer::submit_then(std::string wire, CommitCallback on_commit) {
  auto pending = prepare_transaction(std::move(wire), ledger_.options().tx_limits);
  if (!pending) return on_commit(pending.error());
  if (auto fresh = ensure_not_logged(ledger_, pending->id); !fresh) return on_commit(fresh.error());
  std::unique_lock lock(mutex_);
  auto refuse = [&](core::Error error) {
    lock.unlock();  // the callback may submit again
    on_commit(std::move(error));
  };
  if (stopping_)
    return refuse(make_error(ErrorCode::kOrderingStopped, "ordering: the orderer is stopping"));
  if (queue_.size() >= options_.max_queued) {
    return refuse(make_error(ErrorCode::kOrderingStopped, "ordering: the queue is full (" +
                                                              std::to_string(options_.max_queued) +
                                                              " transactions); retry later"));
  }
  if (!queued_ids_.insert(pending->id).second) {
    return refuse(
        make_error(ErrorCode::kTxDuplicate, "ordering: the same transaction is already queued"));
  }
  queued_bytes_ += pending->wire.size();
  queue_.push_back(Queued{std::move(*pending), std::move(on_commit)});
  lock.unlock();
  arrived_.notify_one();
}

std::deque<SoloOrderer::Queued> SoloOrderer::next_batch(std::unique_lock<std::mutex>& lock) {
  arrived_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
  if (queue_.empty()) return {};
  // Wait (bounded) for the batch to fill, unless stopping: then drain at once.
  // Without a delay there is nothing to wait for (not even a timed-out wait's
  // unlock and relock).
  if (options_.batch_delay.count() > 0) {
    auto deadline = std::chrono::steady_clock::now() + options_.batch_delay;
    arrived_.wait_until(lock, deadline, [this] {
      return stopping_ || queue_.size() >= options_.max_batch_count ||
             queued_bytes_ >= options_.max_batch_bytes;
    });
  }
  std::deque<Queued> batch;
  std::size_t bytes = 0;
  while (!queue_.empty() && batch.size() < options_.max_batch_count) {
    std::size_t size = queue_.front().tx.wire.size();
    if (!batch.empty() && bytes + size > options_.max_batch_bytes) break;
    bytes += size;
    queued_bytes_ -= size;
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  // Within the block's bounds; only a lone transaction may exceed the byte budget.
  MEDLEDGER_ASSERT(!batch.empty() && batch.size() <= options_.max_batch_count);
  MEDLEDGER_ASSERT(bytes <= options_.max_batch_bytes || batch.size() == 1);
  return batch;
}

void SoloOrderer::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    auto batch = next_batch(lock);
    if (batch.empty()) return;  // stopping and drained
    lock.unlock();
    commit_clock_.started();
    commit_batch(batch);
    commit_clock_.finished();
    lock.lock();
    for (const Queued& q : batch) queued_ids_.erase(q.tx.id);
  }
}

std::optional<std::chrono::milliseconds> SoloOrderer::commit_in_progress_for() const {
  return commit_clock_.running_for();
}

void SoloOrderer::commit_batch(std::deque<Queued>& batch) {
  std::vector<PendingTransaction> txs;
  txs.reserve(batch.size());
  for (Queued& q : batch) txs.push_back(std::move(q.tx));
  auto fail_all = [&](const core::Error& error) {
    for (Queued& q : batch) tell(q.on_commit, error);
  };
  auto block = ledger_.append_block(txs, unix_time_ms(), contract_, signer_);
  for (std::size_t i = 0; i < batch.size(); ++i)
    batch[i].tx.id = txs[i].id;  // for queued_ids_ cleanup
  if (!block) return fail_all(block.error());
  MEDLEDGER_ASSERT(block->outcomes.size() == batch.size());
  // Every outcome the block logged has a sequence inside it.
  MEDLEDGER_ASSERT(!block->committed ||
                   std::all_of(block->outcomes.begin(), block->outcomes.end(), [&](const auto& o) {
                     return o.duplicate ||
                            (o.sequence < block->header.log_size &&
                             o.sequence >= block->header.log_size - block->header.tx_count);
                   }));
  if (block->committed) {
    std::lock_guard lock(mutex_);
    ++blocks_;
  }
  // The block is durable: from here on every callback is told so.
  std::optional<SignedCheckpoint> checkpoint;
  if (options_.make_receipts && block->committed) {
    auto signed_checkpoint = checkpoint_at(ledger_, block->header, signer_);
    if (!signed_checkpoint) return fail_all(signed_checkpoint.error());
    checkpoint = std::move(*signed_checkpoint);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const TxOutcome& outcome = block->outcomes[i];
    if (outcome.duplicate) {
      tell(batch[i].on_commit, already_logged(outcome.tx_id));
      continue;
    }
    if (!checkpoint) {
      tell(batch[i].on_commit,
           Receipt{outcome.tx_id, block->header.height, outcome.sequence, outcome.result, {}, {}});
      continue;
    }
    tell(batch[i].on_commit, make_receipt(ledger_, outcome.tx_id, block->header.height,
                                          outcome.sequence, outcome.result, *checkpoint));
  }
}

}  // namespace medledger::ledger
