// EtcdOrderer: the consortium's ordering (docs/consortium.md). Every hospital's node
// keeps its own full replica; etcd holds the one order of blocks.
//
//   <prefix>/blocks/<height, 20 digits>  the block as replicas exchange it (replication.h)
//   <prefix>/applied/<node>              the height that node has applied (for pruning)
//
// Propose: the ordering thread cuts a batch from this node's queue as solo does,
// builds and signs the block in an open LMDB write transaction, and appends it with
// ONE etcd transaction: CREATE(blocks/<tip+1>) == 0 AND CREATE(blocks/<tip>) is the
// revision it applied the tip from (the head is still the head). Only when etcd says
// yes does the LMDB transaction commit: acknowledged = committed in etcd (a majority
// of members durable) AND applied durably here. A node that loses the race aborts,
// applies the winner's block and proposes again what is still pending (a transaction
// already in the winner's block is answered from it, never logged twice). Safety
// comes from the compare, never from a lock or a lease.
//
// One proposer at a time: nodes with an `advertise_url` contend for
// <prefix>/proposer (their name and URL) under an etcd lease they keep alive. The holder
// proposes; the others forward their transactions to it (`forward`: by default
// POST <url>/v1/ledger/forward) and answer their callers when the block holding them is
// applied here. A node proposes its own transactions when no node holds the key, when
// the holder does not answer, or when it has not ordered them within
// `forward_timeout`. The lease only avoids wasted races; safety stays with the compare.
// A node whose key the replicas would not accept as a proposer (not admitted yet, its
// node certificate not registered, or revoked) never proposes: it forwards to the lease
// holder, or refuses writes with kOrderingUnavailable while no node holds the lease.
//
// Apply: the watch on the block prefix delivers each new block with its value; the
// ordering thread applies delivered blocks in height order, and range-reads etcd only
// when the deliveries have a gap (a compacted watch, a lost race) or at `poll_interval`.
// Either way a block is applied only after Ledger::apply_block's checks. A block that fails them,
// or a block in etcd that differs from the one this replica holds at that height, halts the
// replica: writes are refused (kReplicaHalted), health() names the reason, and the block is kept as
// evidence in `evidence_dir`. Nothing is ever skipped.
//
// Unavailable etcd (no endpoint, no quorum, NOSPACE): new writes are refused with
// kOrderingUnavailable; the block in flight is kept and proposed again (or found in
// etcd) when etcd answers; reads of the replica go on. Writing resumes by itself.
//
// Pruning: each node records its applied height; blocks below the lowest applied
// height of every node that records one, minus `keep_blocks`, are deleted and the
// history compacted. A replica that needs pruned blocks fetches them from a peer node
// (`peers`: GET /v1/ledger/replication, with the etcd TLS files: the CA bundle and the
// node's client certificate) and checks each exactly as a block from etcd; without a
// peer that serves them it reports kOrderingUnavailable naming them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "medledger/cluster/etcd_client.h"
#include "medledger/core/result.h"
#include "medledger/core/signer.h"
#include "medledger/ledger/contract.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/ordering.h"
#include "medledger/net/https_client.h"

namespace medledger::cluster {

/// Most bytes of one encoded block: etcd refuses requests over 1.5 MiB, and the
/// gateway's request adds the key and JSON around the value.
inline constexpr std::size_t kMaxEtcdBlockBytes = ledger::kMaxOrderedBlockBytes;

/// Where the orderer's events go (serve: its JSON log); default: spdlog's default logger.
enum class OrderingLogLevel { kInfo, kWarn, kCritical };
using OrderingLog =
    std::function<void(OrderingLogLevel, std::string_view event, const std::string& message)>;

/// Hands transactions to the proposer at `url`; per transaction, whether the proposer
/// now holds it (queued there or already logged). An error: the proposer did not answer.
using Forwarder = std::function<core::Result<std::vector<bool>>(
    const std::string& url, const std::vector<std::string>& wires)>;

struct EtcdOrdererOptions {
  EtcdConfig etcd;
  std::string prefix = "/medledger";  // key prefix of this consortium in etcd
  std::string node_name;              // this node under <prefix>/applied/ (required)
  std::size_t max_batch_count = ledger::kDefaultBatchCount;
  std::size_t max_batch_bytes = kMaxEtcdBlockBytes;  // encoded block bytes; capped at the max
  std::size_t max_queued = ledger::kDefaultMaxQueued;
  std::chrono::milliseconds max_future_skew{30'000};  // a block's time ahead of our clock
  std::chrono::milliseconds poll_interval{1'000};     // read etcd at least this often
  std::chrono::milliseconds retry_interval{250};      // while etcd is unavailable
  std::chrono::milliseconds applied_interval{2'000};  // how often applied/<node> is written
  std::uint64_t keep_blocks = 1'000;   // blocks kept in etcd below every node's applied height
  std::filesystem::path evidence_dir;  // where a halting block is kept (empty: log only)
  std::vector<std::string> peers;      // "https://host:port" of other nodes (pruned blocks)
  OrderingLog log;                     // empty: spdlog
  std::string advertise_url;           // "https://host:port" peers forward to; empty: never lead
  std::chrono::milliseconds proposer_ttl{3'000};     // the proposer lease (whole seconds)
  std::chrono::milliseconds forward_timeout{2'000};  // forwarded, not ordered: propose here
  Forwarder forward;                                 // empty: HTTPS with the etcd TLS files
  bool make_receipts = true;
};

class EtcdOrderer final : public ledger::Orderer {
 public:
  /// Connects to etcd and reconciles: when etcd holds no block, this replica's blocks
  /// are written there (the founder seeds the consortium); otherwise this replica must
  /// be a prefix of etcd's chain (else kReplicaHalted: a fork). Catches up, then starts
  /// the ordering and watch threads. kConfigInvalid for a bad configuration,
  /// kOrderingUnavailable when etcd cannot be reached. `ledger`, `contract` and
  /// `signer` must outlive the orderer.
  static core::Result<std::unique_ptr<EtcdOrderer>> start(ledger::Ledger& ledger,
                                                          ledger::Contract& contract,
                                                          core::Signer& signer,
                                                          const EtcdOrdererOptions& options);
  /// A replica that does not exist yet: reads block 0 from etcd and creates the replica
  /// in `dir` with Ledger::create_replica's checks (then start() catches up the rest).
  /// kLedgerNotFound when etcd holds no block 0 yet.
  static core::Result<std::unique_ptr<ledger::Ledger>> join(const std::filesystem::path& dir,
                                                            ledger::Contract& contract,
                                                            const EtcdOrdererOptions& options);
  ~EtcdOrderer() override;  // stop()
  EtcdOrderer(const EtcdOrderer&) = delete;
  EtcdOrderer& operator=(const EtcdOrderer&) = delete;

  void submit_then(std::string wire, ledger::CommitCallback on_commit) override;
  void stop() override;
  std::optional<std::chrono::milliseconds> commit_in_progress_for() const override;
  core::Result<void> health() const override;

  std::uint64_t blocks_proposed() const { return proposed_.load(); }
  std::uint64_t blocks_applied_from_others() const { return applied_.load(); }
  std::uint64_t races_lost() const { return races_lost_.load(); }
  /// Transactions handed to another node's proposer (counted once each).
  std::uint64_t transactions_forwarded() const { return forwarded_count_.load(); }
  /// Whether this node holds the proposer lease now.
  bool leads() const { return leading_.load(); }
  /// Of blocks_applied_from_others(): those applied from the watch's delivery (no read).
  std::uint64_t blocks_applied_from_watch() const { return watch_applied_.load(); }

 private:
  struct Queued {
    ledger::PendingTransaction tx;
    ledger::CommitCallback on_commit;
    std::size_t encoded_bytes = 0;
    bool in_doubt = false;  // proposed once without an answer: it may be in etcd
    std::chrono::steady_clock::time_point forwarded_until{};  // then proposed here
  };
  EtcdOrderer(ledger::Ledger& ledger, ledger::Contract& contract, core::Signer& signer,
              const EtcdOrdererOptions& options);
  core::Result<void> reconcile();
  /// Applies the blocks the watch delivered, then (when `read_etcd`, or when the
  /// deliveries have a gap) range-reads etcd for the rest.
  core::Result<void> sync_from_etcd(bool read_etcd);
  /// Applies delivered blocks that follow the tip; true when a later one waits (a gap).
  core::Result<bool> apply_delivered();
  /// Checks and applies block `height` read from etcd (halts the replica on a bad one).
  core::Result<void> apply_from_etcd(std::uint64_t height, const KeyValue& kv);
  /// Applies the blocks [from, until) fetched from peers (pruned from etcd).
  core::Result<void> catch_up_from_peers(std::uint64_t from, std::uint64_t until);
  core::Result<void> check_rewritten(std::uint64_t height, const std::string& value);
  enum class PublishOutcome { kNone, kPublished, kLost };
  /// Builds, publishes and commits the block of `batch` with header time `time_ms`.
  void propose(std::deque<Queued>& batch, std::int64_t time_ms);
  /// The etcd compare-and-create of block `height` (inside its open LMDB transaction).
  core::Result<void> publish_block(std::uint64_t height, const ledger::OrderedBlock& block,
                                   PublishOutcome& outcome);
  void settle_failed_proposal(std::deque<Queued>& batch, const core::Error& error,
                              PublishOutcome outcome, std::uint64_t height);
  void forget(const std::deque<Queued>& batch);  // their ids leave queued_ids_
  void requeue(std::deque<Queued>& batch);       // back to the front of the queue
  void settle_from_block(const ledger::OrderedBlock& block, const ledger::CommittedBlock& applied);
  void answer(std::deque<Queued>& batch, const ledger::CommittedBlock& block);
  void halt(const std::string& reason, std::uint64_t height, const std::string& value);
  void set_unavailable(const core::Error& error);
  /// Fails what is queued with `error`, except a batch whose etcd request got no answer
  /// (it may be committed): it stays to be found in etcd or proposed again, unless
  /// `in_doubt_too` (stopping), when it is told kCommitUnconfirmed.
  void fail_queue(const core::Error& error, bool in_doubt_too = false);
  /// After a successful read of etcd: whether it takes writes again (NOSPACE lets reads
  /// through, so it is probed with a write).
  bool writable_again();
  void record_applied_and_prune();
  /// The next batch and what to do with it (mutex_ held).
  struct Cut {
    std::deque<Queued> batch;
    std::optional<std::string> forward_to;  // forward there; else propose (or refuse)
    bool overdue = false;                   // forwarded before, not ordered in time
  };
  Cut cut_batch(bool member);
  void dispatch(Cut& cut, bool member);
  /// Applies what the watch delivered (and reads etcd when `read_etcd`), then notes
  /// whether etcd takes writes again and prunes.
  void sync_step(bool read_etcd);
  /// Whether the replicas would accept a block signed by this node at `at_ms` on the
  /// current state (a genesis proposer or a member's node key then); logs when that
  /// changes.
  bool may_propose(std::int64_t at_ms);
  /// Keeps the proposer lease alive, or learns who holds it, or campaigns for it (a
  /// member with an advertise_url only; a node that may not propose gives it up).
  void maintain_proposer_role(bool member);
  /// When this node forwards instead of proposing: the proposer's URL.
  std::optional<std::string> forward_target(bool member) const;
  void forward_batch(std::deque<Queued>& batch, const std::string& url);
  /// propose() with the current time, or (when this node may not propose at that time)
  /// refuses the batch.
  void propose_if_member(std::deque<Queued>& batch);
  core::Result<std::vector<bool>> forward_over_https(const std::string& url,
                                                     const std::vector<std::string>& wires);
  void run();
  void watch_loop();
  std::string block_key(std::uint64_t height) const;
  void log(OrderingLogLevel level, std::string_view event, const std::string& message) const;

  ledger::Ledger& ledger_;
  ledger::Contract& contract_;
  core::Signer& signer_;
  EtcdOrdererOptions options_;
  std::unique_ptr<EtcdClient> etcd_;        // the ordering thread's connection
  std::unique_ptr<EtcdClient> watch_etcd_;  // the watch thread's connection

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Queued> queue_;
  std::deque<Queued> forwarded_;  // held by the proposer: answered when their block applies
  std::set<core::Digest> queued_ids_;
  bool stopping_ = false;
  bool remote_news_ = false;                     // the watch delivered a block we lack
  bool read_needed_ = false;                     // etcd holds a block the deliveries may lack
  std::map<std::uint64_t, KeyValue> delivered_;  // by the watch, not applied yet
  std::vector<std::pair<std::uint64_t, std::string>> rewritten_;  // puts at heights we hold
  std::optional<core::Error> halted_;                             // kReplicaHalted: final
  std::optional<core::Error> unavailable_;  // kOrderingUnavailable: until etcd answers

  std::int64_t tip_create_revision_ = 0;  // ordering thread only
  struct ProposerRole {                   // ordering thread only
    std::int64_t lease = 0;
    std::string holder_url;  // another node's; empty: propose here
    std::chrono::steady_clock::time_point next_check{};
  } role_;
  std::atomic<bool> leading_{false};
  bool member_ = true;                                // as last logged (ordering thread only)
  std::unique_ptr<net::HttpsClient> forward_client_;  // to role_.holder_url
  std::string forward_client_url_;
  std::atomic<std::int64_t> seen_revision_{0};
  std::chrono::steady_clock::time_point next_applied_write_{};
  std::uint64_t applied_written_ = UINT64_MAX;
  std::atomic<std::uint64_t> proposed_{0}, applied_{0}, races_lost_{0}, watch_applied_{0},
      forwarded_count_{0};
  ledger::CommitClock commit_clock_;
  std::thread worker_;
  std::thread watcher_;
};

}  // namespace medledger::cluster
