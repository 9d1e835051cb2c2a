// Ledger benchmarks (docs/PERFORMANCE.md, ledger section):
//  - durable ~2 KiB transactions committed/s through Ledger::append_block with
//    1, 100, 1000 per block (trivial contract, no transaction signature checks;
//    one ECDSA header signature per block), against
//  - a plain LMDB put loop with the same durability: one fsync'ed write txn per
//    batch, the same payloads, in the same run (plain mdb_put, and MDB_APPEND);
//  - inclusion proofs/s at 10^6 entries from the LMDB Merkle table, with the
//    number of LMDB reads per proof (O(log n)).
// The stores live in $MEDLEDGER_BENCH_DIR (default /var/tmp): it must be a real
// disk for fsync to mean anything.
#include <openssl/rand.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "medledger/core/software_signer.h"
#include "medledger/ledger/genesis.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/merkle_table.h"

namespace {

using namespace medledger;
using namespace medledger::ledger;

constexpr std::size_t kRecordBytes = 2048;          // a record.put envelope
constexpr std::uint64_t kProofTreeSize = 1000000;   // 10^6 entries
constexpr std::uint64_t kProofBuildChunk = 100000;  // leaves per write txn while building

class AcceptAll final : public Contract {
 public:
  std::string_view name() const override { return "accept-all"; }
  core::Result<void> validate(const Transaction&, const StateView&, const BlockContext&) override {
    return core::success();
  }
  core::Result<void> apply(const Transaction&, StateWriter&, const BlockContext&) override {
    return core::success();
  }
};

std::filesystem::path bench_dir(const std::string& name) {
  const char* base = std::getenv("MEDLEDGER_BENCH_DIR");
  std::filesystem::path dir = std::filesystem::path(base != nullptr ? base : "/var/tmp") /
                              ("medledger-ledger-bench-" + std::to_string(::getpid())) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string record_tx(std::uint64_t n) {
  Transaction tx;
  tx.type = "record.put";
  tx.time_ms = 1700000000000;
  tx.nonce.resize(kMinNonceBytes);
  RAND_bytes(tx.nonce.data(), static_cast<int>(tx.nonce.size()));
  std::string pad(kRecordBytes - 160, 'c');  // ~2 KiB on the wire with the envelope
  tx.body = boost::json::object{{"key", "record-" + std::to_string(n)}, {"ciphertext", pad}};
  return encode_transaction(tx);
}

void BM_LedgerDurableAppend(benchmark::State& state) {
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  auto dir = bench_dir("append-" + std::to_string(batch_size));
  auto signer = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  AcceptAll contract;
  GenesisConfig config{"bench", {}, 1, {signer->get()}};
  auto ledger = Ledger::create(dir, make_genesis_document(config), contract, **signer, 1);
  if (!ledger) return state.SkipWithError(ledger.error().to_string().c_str());
  std::uint64_t n = 0;
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<PendingTransaction> batch;
    for (std::size_t i = 0; i < batch_size; ++i)
      batch.push_back(*prepare_transaction(record_tx(n++)));
    state.ResumeTiming();
    auto block = (*ledger)->append_block(batch, 2, contract, **signer);
    if (!block) return state.SkipWithError(block.error().to_string().c_str());
    bytes += batch.size() * batch.front().wire.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  ledger->reset();
  std::filesystem::remove_all(dir);
}

// range(1) = 0: mdb_put without flags (a naive loop); 1: MDB_APPEND (what the ledger
// does for its sequential tables, so the fairer floor).
void BM_PlainLmdbDurablePuts(benchmark::State& state) {
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  const bool append = state.range(1) != 0;
  auto dir = bench_dir("plain-" + std::to_string(batch_size) + (append ? "-append" : ""));
  auto store = Store::open(dir);
  if (!store) return state.SkipWithError(store.error().to_string().c_str());
  std::uint64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::string> payloads;
    for (std::size_t i = 0; i < batch_size; ++i) payloads.push_back(record_tx(n + i));
    state.ResumeTiming();
    auto written = (*store)->write([&](WriteTxn& txn) -> core::Result<void> {
      for (std::size_t i = 0; i < payloads.size(); ++i) {
        auto key = u64_key(n + i);
        const auto* data = reinterpret_cast<const std::uint8_t*>(payloads[i].data());
        core::ByteView value(data, payloads[i].size());
        if (append) {
          MEDLEDGER_TRY(txn.append(Table::kTxs, key, value));
        } else {
          MEDLEDGER_TRY(txn.put(Table::kTxs, key, value));
        }
      }
      return core::success();
    });
    if (!written) return state.SkipWithError(written.error().to_string().c_str());
    n += batch_size;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  store->reset();
  std::filesystem::remove_all(dir);
}

struct ProofTree {
  std::filesystem::path dir;
  std::unique_ptr<Store> store;
};

ProofTree& proof_tree() {
  static ProofTree tree = [] {
    ProofTree t{bench_dir("proofs"), nullptr};
    StoreOptions options;
    options.durable = false;  // built once; proofs only read
    t.store = std::move(*Store::open(t.dir, options));
    for (std::uint64_t start = 0; start < kProofTreeSize; start += kProofBuildChunk) {
      auto written = t.store->write([&](WriteTxn& txn) -> core::Result<void> {
        MerkleTable table(txn);
        for (std::uint64_t i = start; i < start + kProofBuildChunk; ++i) {
          auto leaf = u64_key(i);
          MEDLEDGER_TRY(append_leaf(table, table, i, merkle_leaf_hash(leaf)));
        }
        return core::success();
      });
      if (!written) std::abort();
    }
    return t;
  }();
  return tree;
}

void BM_InclusionProofAtMillion(benchmark::State& state) {
  ProofTree& tree = proof_tree();
  auto txn = tree.store->read();
  std::uint64_t index = 12345;
  std::uint64_t reads = 0;
  std::uint64_t proofs = 0;
  std::size_t max_reads = 0;
  for (auto _ : state) {
    MerkleTable table(*txn);
    auto proof = inclusion_proof(table, index, kProofTreeSize);
    if (!proof) return state.SkipWithError(proof.error().to_string().c_str());
    benchmark::DoNotOptimize(proof->data());
    reads += table.reads();
    max_reads = std::max<std::size_t>(max_reads, table.reads());
    ++proofs;
    index = (index * 6364136223846793005ULL + 1442695040888963407ULL) % kProofTreeSize;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(proofs));
  state.counters["reads_per_proof"] = static_cast<double>(reads) / static_cast<double>(proofs);
  state.counters["max_reads"] = static_cast<double>(max_reads);
}

BENCHMARK(BM_LedgerDurableAppend)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_PlainLmdbDurablePuts)
    ->ArgsProduct({{1, 100, 1000}, {0, 1}})
    ->ArgNames({"batch", "append"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_InclusionProofAtMillion)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
