// ConsortiumLedger: the shared ledger a hospital node writes through -- one LMDB
// ledger, the medical-records contract and the solo orderer, bundled so several
// HospitalNode objects in one process can share it (docs/node.md, "Two hospitals").
//
//     auto ledger = ConsortiumLedger::open(dir, std::move(node_a_signer));
//     auto receipt = (*ledger)->submit(tx);   // after the block's durable commit
//
// The proposer (block and checkpoint signer) must be listed in the genesis
// configuration; a node passes its token signing key (hsm::TokenSigner).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <memory>
#include <vector>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/signer.h"
#include "medledger/ledger/genesis.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/ordering.h"
#include "medledger/ledger/receipt.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/transaction.h"

namespace medledger::node {

/// How long submit() waits for its block's durable commit before giving up
/// (kCommitUnconfirmed: it may still commit). A block is one fsync; 30 s only
/// trips on a stuck disk.
inline constexpr std::chrono::seconds kCommitWaitLimit{30};

/// A public key that may be listed as a genesis proposer without its private half
/// (another hospital's node key). sign_digest always fails (kUnsupportedAlgorithm).
class ProposerPublicKey final : public core::Signer {
 public:
  ProposerPublicKey(core::Bytes spki, core::KeyAlgorithm algorithm)
      : spki_(std::move(spki)), algorithm_(algorithm) {}
  core::Result<core::Bytes> sign_digest(const core::Digest& digest) override;
  const core::Bytes& public_key_spki() const override { return spki_; }
  core::KeyAlgorithm algorithm() const override { return algorithm_; }

 private:
  core::Bytes spki_;
  core::KeyAlgorithm algorithm_;
};

class ConsortiumLedger {
 public:
  /// Creates the ledger in `dir` (block 0 from `genesis`, signed by `proposer`,
  /// which must be among genesis.proposers) and starts the orderer.
  /// kAlreadyExists if a ledger is there. Cost: one durable commit.
  static core::Result<std::unique_ptr<ConsortiumLedger>> create(
      const std::filesystem::path& dir, const ledger::GenesisConfig& genesis,
      std::unique_ptr<core::Signer> proposer, const ledger::SoloOptions& options = {});
  /// Makes the orderer of an opened replica (e.g. cluster::EtcdOrderer::start).
  using OrdererFactory = std::function<core::Result<std::unique_ptr<ledger::Orderer>>(
      ledger::Ledger&, ledger::Contract&, core::Signer&)>;
  /// Creates a replica that does not exist yet in `dir` (e.g. from etcd's block 0).
  using ReplicaFactory = std::function<core::Result<std::unique_ptr<ledger::Ledger>>(
      const std::filesystem::path&, ledger::Contract&)>;
  /// open() with another orderer than solo: a consortium replica. When `dir` holds no
  /// ledger and `create_replica` is given, it makes one first (a hospital joining). The
  /// proposer key need not be a proposer yet: the orderer decides when it may propose.
  /// Errors: open()'s, the factories'.
  static core::Result<std::unique_ptr<ConsortiumLedger>> open_replica(
      const std::filesystem::path& dir, std::unique_ptr<core::Signer> proposer,
      const OrdererFactory& make_orderer, const ReplicaFactory& create_replica = {});
  /// Opens an existing ledger; kLedgerNotFound if none, kInvalidArgument if the
  /// proposer's key is not a genesis proposer. Cost: reads block 0.
  static core::Result<std::unique_ptr<ConsortiumLedger>> open(
      const std::filesystem::path& dir, std::unique_ptr<core::Signer> proposer,
      const ledger::SoloOptions& options = {});
  ~ConsortiumLedger();                                 // stops the orderer (commits what is queued)
  ConsortiumLedger(const ConsortiumLedger&) = delete;  // owns the orderer thread
  ConsortiumLedger& operator=(const ConsortiumLedger&) = delete;

  /// Encodes, submits and waits (at most kCommitWaitLimit) for the durable commit.
  /// The receipt's `result` may be a rejection code: the transaction is logged
  /// either way. Errors: those of SoloOrderer (kTxDuplicate, kTxMalformed,
  /// kOrderingStopped, kLedgerStorage, ...). Cost: one block commit (shared).
  core::Result<ledger::Receipt> submit(const ledger::Transaction& tx);
  /// Encodes and queues without waiting: the PendingCommit learns of the block's
  /// durable commit. Lets one caller keep several transactions in flight (they
  /// share blocks). `what` names the transaction in a rejection message. Cost:
  /// encode + the orderer's checks.
  class PendingCommit submit_pending(const ledger::Transaction& tx, std::string what);

  /// Stops the orderer: commits what is queued (every pending commit learns its
  /// outcome), then refuses new submissions (kOrderingStopped). Idempotent.
  void stop();
  /// How long the ordering writer has been on its current block (nullopt: idle).
  std::optional<std::chrono::milliseconds> commit_in_progress_for() const {
    return orderer_->commit_in_progress_for();
  }

  /// Whether writes can be taken now (ledger::Orderer::health): kOrderingUnavailable
  /// while a consortium's etcd is unreachable, kReplicaHalted after an invalid block.
  core::Result<void> ordering_health() const { return orderer_->health(); }
  /// A transaction another member's node forwarded to this node's proposer
  /// (ledger::hold_forwarded): success when the orderer holds it.
  core::Result<void> hold_forwarded(std::string wire) {
    return ledger::hold_forwarded(*orderer_, std::move(wire));
  }

  ledger::Ledger& ledger() { return *ledger_; }
  const core::Signer& proposer() const { return *proposer_; }

 private:
  ConsortiumLedger() = default;
  core::Result<void> start(const ledger::SoloOptions& options);
  core::Result<void> check_proposer(const std::filesystem::path& dir);

  std::unique_ptr<core::Signer> proposer_;
  ledger::RecordsContract contract_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<ledger::Orderer> orderer_;
};

/// The receipt as an error when the contract rejected the transaction: the
/// result code with "<type> rejected: <NAME> (tx <b64url>, sequence S)".
core::Result<ledger::Receipt> accepted_or_error(core::Result<ledger::Receipt> receipt,
                                                std::string_view what);

/// A transaction handed to the orderer whose block may not have committed yet.
/// Move-only; call wait() or then(), once.
class PendingCommit {
 public:
  /// Waits (at most kCommitWaitLimit: kCommitUnconfirmed) for the durable commit and
  /// returns what the synchronous call would: the receipt if accepted, else the
  /// rejection code as the error (accepted_or_error) or the orderer's error.
  core::Result<ledger::Receipt> wait();
  /// Instead of wait(): `done` gets what wait() would return, at once if the commit
  /// is already known, else on the orderer's writer thread when it is -- so it must
  /// be short and must not block (hand the work to another thread), as
  /// ledger::CommitCallback. Lets a server answer without parking a thread.
  void then(std::function<void(core::Result<ledger::Receipt>)> done);

 private:
  friend class ConsortiumLedger;
  struct State;
  PendingCommit(std::shared_ptr<State> state, std::string what)
      : state_(std::move(state)), what_(std::move(what)) {}
  // wait() without accepted_or_error: a rejection is a receipt (ConsortiumLedger::submit).
  core::Result<ledger::Receipt> wait_for_outcome();

  std::shared_ptr<State> state_;  // shared with the orderer's callback
  std::string what_;              // the transaction type, for the rejection message
};

}  // namespace medledger::node
