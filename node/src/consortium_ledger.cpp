#include "medledger/node/consortium_ledger.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "medledger/core/error.h"
#include "medledger/ledger/records_state.h"

namespace medledger::node {

using core::ErrorCode;

core::Result<core::Bytes> ProposerPublicKey::sign_digest(const core::Digest&) {
  return core::make_error(ErrorCode::kUnsupportedAlgorithm, "a proposer public key cannot sign");
}

core::Result<std::unique_ptr<ConsortiumLedger>> ConsortiumLedger::create(
    const std::filesystem::path& dir, const ledger::GenesisConfig& genesis,
    std::unique_ptr<core::Signer> proposer, const ledger::SoloOptions& options) {
  if (!proposer) return core::make_error(ErrorCode::kInvalidArgument, "no proposer key");
  std::unique_ptr<ConsortiumLedger> out(new ConsortiumLedger());
  out->proposer_ = std::move(proposer);
  auto created = ledger::Ledger::create(dir, ledger::make_genesis_document(genesis), out->contract_,
                                        *out->proposer_, ledger::unix_time_ms());
  if (!created) return created.error();
  out->ledger_ = std::move(*created);
  MEDLEDGER_TRY(out->start(options));
  return out;
}

core::Result<std::unique_ptr<ConsortiumLedger>> ConsortiumLedger::open(
    const std::filesystem::path& dir, std::unique_ptr<core::Signer> proposer,
    const ledger::SoloOptions& options) {
  if (!proposer) return core::make_error(ErrorCode::kInvalidArgument, "no proposer key");
  std::unique_ptr<ConsortiumLedger> out(new ConsortiumLedger());
  out->proposer_ = std::move(proposer);
  MEDLEDGER_TRY_ASSIGN(auto opened, ledger::Ledger::open(dir));
  out->ledger_ = std::move(opened);
  MEDLEDGER_TRY(out->check_proposer(dir));
  MEDLEDGER_TRY(out->start(options));
  return out;
}

core::Result<std::unique_ptr<ConsortiumLedger>> ConsortiumLedger::open_replica(
    const std::filesystem::path& dir, std::unique_ptr<core::Signer> proposer,
    const OrdererFactory& make_orderer, const ReplicaFactory& create_replica) {
  if (!proposer) return core::make_error(ErrorCode::kInvalidArgument, "no proposer key");
  std::unique_ptr<ConsortiumLedger> out(new ConsortiumLedger());
  out->proposer_ = std::move(proposer);
  auto opened = ledger::Ledger::open(dir);
  if (!opened && opened.error().code == ErrorCode::kLedgerNotFound && create_replica)
    opened = create_replica(dir, out->contract_);
  if (!opened) return opened.error();
  out->ledger_ = std::move(*opened);
  // No proposer check here: membership changes with the blocks a replica has yet to apply,
  // and the orderer proposes only while this key may (cluster::EtcdOrderer).
  MEDLEDGER_TRY_ASSIGN(out->orderer_, make_orderer(*out->ledger_, out->contract_, *out->proposer_));
  return out;
}

core::Result<void> ConsortiumLedger::check_proposer(const std::filesystem::path& dir) {
  // A genesis proposer, or a member admitted later: its node key registered on the ledger.
  MEDLEDGER_TRY_ASSIGN(auto member, ledger_->may_propose(contract_, proposer_->public_key_spki(),
                                                         ledger::unix_time_ms()));
  if (member) return core::success();
  return core::make_error(ErrorCode::kInvalidArgument,
                          "this node's signing key is neither a genesis proposer of " +
                              dir.string() + " nor a registered node key of an admitted hospital");
}

core::Result<void> ConsortiumLedger::start(const ledger::SoloOptions& options) {
  orderer_ = ledger::SoloOrderer::start(*ledger_, contract_, *proposer_, options);
  if (!orderer_) return core::make_error(ErrorCode::kInternal, "the orderer did not start");
  return core::success();
}

ConsortiumLedger::~ConsortiumLedger() { stop(); }

void ConsortiumLedger::stop() {
  if (orderer_) orderer_->stop();
}

// What the orderer's callback and the waiter (or continuation) share.
struct PendingCommit::State {
  std::mutex mutex;
  std::condition_variable known;
  std::optional<core::Result<ledger::Receipt>> result;
  std::function<void(core::Result<ledger::Receipt>)> continuation;
  bool taken = false;  // wait() or then() was called

  void fulfil(core::Result<ledger::Receipt> outcome) {
    std::unique_lock lock(mutex);
    if (continuation) {
      auto done = std::move(continuation);
      lock.unlock();
      done(std::move(outcome));
      return;
    }
    result = std::move(outcome);
    lock.unlock();
    known.notify_all();
  }
};

core::Result<ledger::Receipt> ConsortiumLedger::submit(const ledger::Transaction& tx) {
  return submit_pending(tx, std::string(tx.type)).wait_for_outcome();
}

PendingCommit ConsortiumLedger::submit_pending(const ledger::Transaction& tx, std::string what) {
  auto state = std::make_shared<PendingCommit::State>();
  // The orderer parses the wire form back: the contract sees exactly what every
  // other node and `ledger verify` will decode (number kinds, member order).
  orderer_->submit_then(
      ledger::encode_transaction(tx),
      [state](core::Result<ledger::Receipt> outcome) { state->fulfil(std::move(outcome)); });
  return PendingCommit(std::move(state), std::move(what));
}

core::Result<ledger::Receipt> PendingCommit::wait_for_outcome() {
  if (!state_) return core::make_error(ErrorCode::kInternal, "this commit was moved from");
  std::unique_lock lock(state_->mutex);
  if (state_->taken)
    return core::make_error(ErrorCode::kInternal, "this commit was already waited for");
  state_->taken = true;
  if (!state_->known.wait_for(lock, kCommitWaitLimit, [&] { return state_->result.has_value(); })) {
    return core::make_error(
        ErrorCode::kCommitUnconfirmed,
        "no durable commit reported within the wait limit; the transaction may still commit");
  }
  return std::move(*state_->result);
}

core::Result<ledger::Receipt> PendingCommit::wait() {
  return accepted_or_error(wait_for_outcome(), what_);
}

void PendingCommit::then(std::function<void(core::Result<ledger::Receipt>)> done) {
  if (!state_) return done(core::make_error(ErrorCode::kInternal, "this commit was moved from"));
  std::unique_lock lock(state_->mutex);
  if (state_->taken) {
    lock.unlock();
    return done(core::make_error(ErrorCode::kInternal, "this commit was already waited for"));
  }
  state_->taken = true;
  auto finish = [what = std::move(what_),
                 done = std::move(done)](core::Result<ledger::Receipt> outcome) {
    done(accepted_or_error(std::move(outcome), what));
  };
  if (state_->result) {
    auto outcome = std::move(*state_->result);
    lock.unlock();
    return finish(std::move(outcome));
  }
  state_->continuation = std::move(finish);
}

core::Result<ledger::Receipt> accepted_or_error(core::Result<ledger::Receipt> receipt,
                                                std::string_view what) {
  if (!receipt) return receipt;
  if (receipt->result == ledger::kTxAccepted) return receipt;
  return core::make_error(static_cast<ErrorCode>(receipt->result),
                          std::string(what) +
                              " rejected by the contract: " + ledger::result_name(receipt->result) +
                              " (tx " + core::base64url_encode(receipt->tx_id) + ", sequence " +
                              std::to_string(receipt->sequence) + ", logged with its code)");
}

}  // namespace medledger::node
