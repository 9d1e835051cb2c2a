// Ordering: the one total order of transactions. `solo` is the embedded orderer
// (one node, nothing else to run); a consortium orders on etcd behind the same
// interface (cluster/etcd_orderer.h; docs/architecture.md, "Ordering").
//
// SoloOrderer: submit() checks the transaction (decode limits, already-logged
// tx_id) and queues it; ONE writer thread cuts a batch when it holds
// max_batch_count transactions, max_batch_bytes bytes, or batch_delay after the
// first one arrived, builds the block (Ledger::append_block: contract, Merkle,
// signed header), commits it durably, signs a checkpoint, and only THEN fulfils
// the callbacks (or futures) with receipts. Nothing is acknowledged before its fsync.
//
// Results: a Receipt (result ACCEPTED, or the contract's rejection code —
// the transaction is logged either way); or an error: kTxMalformed /
// kTxNotCanonical / kTxTooLarge / kTxUnknownType (at submit), kTxDuplicate
// (already logged or queued), kOrderingStopped (queue full or orderer stopped),
// kLedgerStorage / kLedgerFull (the block did not commit: nothing acknowledged).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "medledger/core/result.h"
#include "medledger/core/signer.h"
#include "medledger/ledger/contract.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/receipt.h"

namespace medledger::ledger {

/// Told once what became of a submitted transaction (what the future of submit()
/// would hold). Runs on the orderer's writer thread after the block's durable
/// commit, or, for an error found at submission, in the submitting thread before
/// submit_then returns. It delays the next block while it runs: keep it short
/// (hand the work to another thread), never block, never throw.
using CommitCallback = std::function<void(core::Result<Receipt>)>;

class Orderer {
 public:
  virtual ~Orderer() = default;
  /// Queues one wire transaction; `on_commit` is called after its block's durable
  /// commit (or with an error; see above). Cost: decode + one read lookup.
  virtual void submit_then(std::string wire, CommitCallback on_commit) = 0;
  /// submit_then with a future: ready after the block's durable commit.
  std::future<core::Result<Receipt>> submit(std::string wire);
  /// Stops accepting, commits what is queued, joins the writer. Idempotent.
  virtual void stop() = 0;
  /// How long the writer has been on the block it is committing now (nullopt:
  /// idle). A block takes milliseconds; seconds mean a stuck disk (/healthz).
  virtual std::optional<std::chrono::milliseconds> commit_in_progress_for() const {
    return std::nullopt;
  }
  /// Why the orderer cannot take writes now (the error submit_then would answer), or
  /// success. A replicated orderer fails while its ordering service is unreachable
  /// (kOrderingUnavailable) or after it halted on an invalid block (kReplicaHalted).
  virtual core::Result<void> health() const { return core::success(); }
};

// What every Orderer implementation shares (SoloOrderer, cluster::EtcdOrderer).

/// Milliseconds since the Unix epoch: a block's proposed time.
std::int64_t unix_time_ms();
/// Calls `on_commit` with `outcome`. A callback that throws (it must not; bad_alloc could)
/// must not take the writer thread down nor cost the rest of the batch its answers.
void tell(const CommitCallback& on_commit, core::Result<Receipt> outcome);
/// kTxDuplicate: transaction `id` is already in the log.
core::Error already_logged(const core::Digest& id);
/// Success when `id` is not in `ledger`'s log yet; else already_logged (or the lookup's
/// storage error). Cost: one read lookup.
core::Result<void> ensure_not_logged(const Ledger& ledger, const core::Digest& id);
/// A transaction another node forwarded to this node's orderer (that node answers its own
/// caller when the block applies there): queues it without a caller here. Success when the
/// orderer now holds it (queued, or already queued or logged: kTxDuplicate is not an
/// error here); else the orderer's immediate refusal (unavailable, full, malformed, ...).
core::Result<void> hold_forwarded(Orderer& orderer, std::string wire);

/// How long the writer has been on the block it is committing now
/// (Orderer::commit_in_progress_for): started() / finished() around each block.
class CommitClock {
 public:
  void started() { started_.store(std::chrono::steady_clock::now().time_since_epoch().count()); }
  void finished() { started_.store(0); }
  std::optional<std::chrono::milliseconds> running_for() const;

 private:
  std::atomic<std::int64_t> started_{0};  // steady_clock ticks; 0 while idle
};

/// Defaults: 1000 per block (group commit amortizes the fsync), 8 MiB per block,
/// no delay, 10^5 queued. Without a delay the writer cuts a block as soon as it is
/// free: what arrives while one block commits forms the next, so blocks grow with
/// the load by themselves (group commit) and a lone transaction never waits. A
/// delay only helped callers that wait for each commit, and cost them the delay.
inline constexpr std::size_t kDefaultBatchCount = 1000;
inline constexpr std::size_t kDefaultBatchBytes = std::size_t{8} << 20;
inline constexpr std::chrono::milliseconds kDefaultBatchDelay{0};
inline constexpr std::size_t kDefaultMaxQueued = 100000;
/// Ceilings the options cannot exceed.
inline constexpr std::size_t kMaxBatchBytes = std::size_t{64} << 20;
inline constexpr std::chrono::milliseconds kMaxBatchDelay{1000};
inline constexpr std::size_t kMaxQueuedCeiling = 1000000;

struct SoloOptions {
  std::size_t max_batch_count = kDefaultBatchCount;  // clamped to 1..kMaxBlockTransactions
  std::size_t max_batch_bytes = kDefaultBatchBytes;  // clamped to kMaxBatchBytes
  std::chrono::milliseconds batch_delay = kDefaultBatchDelay;  // clamped to kMaxBatchDelay
  std::size_t max_queued = kDefaultMaxQueued;                  // clamped to kMaxQueuedCeiling
  bool make_receipts = true;  // false: receipts carry no proof/checkpoint (benchmarks)
};

class SoloOrderer final : public Orderer {
 public:
  /// Starts the writer thread. `ledger`, `contract` and `signer` must outlive the orderer;
  /// nothing else may append to `ledger` meanwhile.
  static std::unique_ptr<SoloOrderer> start(Ledger& ledger, Contract& contract,
                                            core::Signer& signer, const SoloOptions& options = {});
  ~SoloOrderer() override;                   // stop()
  SoloOrderer(const SoloOrderer&) = delete;  // owns a thread
  SoloOrderer& operator=(const SoloOrderer&) = delete;

  void submit_then(std::string wire, CommitCallback on_commit) override;
  void stop() override;

  /// Blocks committed by this orderer so far.
  std::uint64_t blocks_committed() const;
  std::optional<std::chrono::milliseconds> commit_in_progress_for() const override;

 private:
  struct Queued {
    PendingTransaction tx;
    CommitCallback on_commit;
  };
  SoloOrderer(Ledger& ledger, Contract& contract, core::Signer& signer, const SoloOptions& options);
  void run();
  std::deque<Queued> next_batch(std::unique_lock<std::mutex>& lock);
  void commit_batch(std::deque<Queued>& batch);

  Ledger& ledger_;
  Contract& contract_;
  core::Signer& signer_;
  SoloOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<Queued> queue_;
  std::set<core::Digest> queued_ids_;  // queued, not yet committed: replays are refused early
  std::size_t queued_bytes_ = 0;
  bool stopping_ = false;
  std::uint64_t blocks_ = 0;
  CommitClock commit_clock_;
  std::thread writer_;
};

}  // namespace medledger::ledger
