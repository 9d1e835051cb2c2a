// Blocks received from etcd or a peer (ledger/replication.h, Ledger::apply_block).
// Each input is decoded as an exchanged block; one that decodes must re-encode to the
// same bytes, and is then applied to a replica (kv/1 contract, genesis only) with every
// check running. So that the checks after the proposer signature are reached, the
// header's height and prev_hash are set to the replica's next block and the header is
// re-signed with the replica's proposer key; what the input says about the time, the
// transactions, their results, the Merkle root and the state digest is kept. A block
// that passes every check commits; the replica is then made afresh from its genesis
// block, so every input meets the same ledger.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fuzz_support.h"
#include "medledger/core/assert.h"
#include "medledger/ledger/genesis.h"
#include "medledger/ledger/kv_contract.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/replication.h"

using namespace medledger;

namespace {

constexpr std::int64_t kGenesisTimeMs = 1700000000000;

struct Replica {
  ledger::KeyValueContract contract;
  std::unique_ptr<ledger::Ledger> ledger;
  ledger::OrderedBlock genesis;
  int generation = 0;
};

ledger::LedgerOptions replica_options() {
  ledger::LedgerOptions options;
  options.store.durable = false;  // a throw-away store
  return options;
}

const ledger::BlockCheckOptions kCheck{kGenesisTimeMs + 1'000'000'000, {}};

Replica& replica() {
  static Replica* made = [] {
    auto* r = new Replica;
    ledger::GenesisConfig config;
    config.consortium = "fuzz";
    config.hospitals = {{"hospital-a", {}}};
    config.proposers = {&fuzz::p256_signer()};
    config.contract = ledger::kKeyValueContractName;
    auto created = ledger::Ledger::create(fuzz::scratch_dir() / "replica-0",
                                          ledger::make_genesis_document(config), r->contract,
                                          fuzz::p256_signer(), kGenesisTimeMs, replica_options());
    if (!created) std::abort();
    r->ledger = std::move(*created);
    auto genesis = r->ledger->ordered_block(0);
    if (!genesis) std::abort();
    r->genesis = std::move(*genesis);
    return r;
  }();
  return *made;
}

void start_afresh(Replica& r) {
  r.ledger.reset();
  std::filesystem::remove_all(fuzz::scratch_dir() / ("replica-" + std::to_string(r.generation)));
  const auto dir = fuzz::scratch_dir() / ("replica-" + std::to_string(++r.generation));
  auto made = ledger::Ledger::create_replica(dir, r.genesis, r.contract, kCheck, replica_options());
  if (!made) std::abort();
  r.ledger = std::move(*made);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  auto block = ledger::decode_ordered_block(text);
  if (!block) return 0;
  MEDLEDGER_ASSERT(ledger::encode_ordered_block(*block) == text);

  Replica& r = replica();
  auto tip = r.ledger->tip();
  MEDLEDGER_ASSERT(tip.ok());
  auto header = ledger::decode_header(block->header_json);
  if (header) {
    header->height = tip->block.header.height + 1;
    header->prev_hash = tip->block.hash;
    if (!ledger::sign_header(*header, fuzz::p256_signer())) std::abort();
    block->header_json = ledger::encode_header(*header);
  }
  if (r.ledger->apply_block(*block, r.contract, kCheck)) start_afresh(r);
  return 0;
}
