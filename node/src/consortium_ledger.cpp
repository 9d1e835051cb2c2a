#include "medledger/node/consortium_ledger.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "medledger/core/error.h"

namespace medledger::node {

using core::ErrorCode;

namespace {
std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

core::Result<core::Bytes> ProposerPublicKey::sign_digest(const core::Digest&) {
  return core::make_error(ErrorCode::kUnsupportedAlgorithm, "a proposer public key cannot sign");
}

core::Result<std::unique_ptr<ConsortiumLedger>> ConsortiumLedger::create(const std::filesystem::path& dir,
                                                                         const ledger::GenesisConfig& genesis,
                                                                         std::unique_ptr<core::Signer> proposer,
                                                                         const ledger::SoloOptions& options) {
  if (!proposer) return core::make_error(ErrorCode::kInvalidArgument, "no proposer key");
  std::unique_ptr<ConsortiumLedger> out(new ConsortiumLedger());
  out->proposer_ = std::move(proposer);
  auto created = ledger::Ledger::create(dir, ledger::make_genesis_document(genesis), out->contract_,
                                        *out->proposer_, now_ms());
  if (!created) return created.error();
  out->ledger_ = std::move(*created);
  MEDLEDGER_TRY(out->start(options));
  return out;
}

core::Result<std::unique_ptr<ConsortiumLedger>> ConsortiumLedger::open(const std::filesystem::path& dir,
                                                                       std::unique_ptr<core::Signer> proposer,
                                                                       const ledger::SoloOptions& options) {
  if (!proposer) return core::make_error(ErrorCode::kInvalidArgument, "no proposer key");
  std::unique_ptr<ConsortiumLedger> out(new ConsortiumLedger());
  out->proposer_ = std::move(proposer);
  auto opened = ledger::Ledger::open(dir);
  if (!opened) return opened.error();
  out->ledger_ = std::move(*opened);
  const auto& keys = out->ledger_->proposer_keys();
  if (std::find(keys.begin(), keys.end(), out->proposer_->public_key_spki()) == keys.end()) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "this node's signing key is not a proposer in the genesis of " + dir.string());
  }
  MEDLEDGER_TRY(out->start(options));
  return out;
}

core::Result<void> ConsortiumLedger::start(const ledger::SoloOptions& options) {
  orderer_ = ledger::SoloOrderer::start(*ledger_, contract_, *proposer_, options);
  if (!orderer_) return core::make_error(ErrorCode::kInternal, "the orderer did not start");
  return core::success();
}

ConsortiumLedger::~ConsortiumLedger() {
  if (orderer_) orderer_->stop();
}

namespace {

core::Result<ledger::Receipt> wait_for_commit(std::future<core::Result<ledger::Receipt>>& future) {
  if (!future.valid()) return core::make_error(ErrorCode::kInternal, "this commit was already waited for");
  if (future.wait_for(kCommitWaitLimit) != std::future_status::ready) {
    return core::make_error(ErrorCode::kOrderingStopped, "no durable commit within the wait limit");
  }
  return future.get();
}

}  // namespace

core::Result<ledger::Receipt> ConsortiumLedger::submit(const ledger::Transaction& tx) {
  auto future = submit_async(tx);
  return wait_for_commit(future);
}

std::future<core::Result<ledger::Receipt>> ConsortiumLedger::submit_async(const ledger::Transaction& tx) {
  // The orderer parses the wire form back: the contract sees exactly what every
  // other node and `ledger verify` will decode (number kinds, member order).
  return orderer_->submit(ledger::encode_transaction(tx));
}

core::Result<ledger::Receipt> PendingCommit::wait() { return accepted_or_error(wait_for_commit(future_), what_); }

core::Result<ledger::Receipt> accepted_or_error(core::Result<ledger::Receipt> receipt, std::string_view what) {
  if (!receipt) return receipt;
  if (receipt->result == ledger::kTxAccepted) return receipt;
  return core::make_error(static_cast<ErrorCode>(receipt->result),
                          std::string(what) + " rejected by the contract: " + ledger::result_name(receipt->result) +
                              " (tx " + core::base64url_encode(receipt->tx_id) + ", sequence " +
                              std::to_string(receipt->sequence) + ", logged with its code)");
}

}  // namespace medledger::node
