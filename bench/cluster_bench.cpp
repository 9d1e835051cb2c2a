// Consortium ordering on etcd against solo (docs/PERFORMANCE.md, "Consortium on etcd").
// Ledger level, kv contract, no HTTPS: the figures are the ordering's cost.
//
//   BM_SoloWrites          closed loop: kInFlight transactions outstanding on one
//                          SoloOrderer; a completion lets the next one in
//   BM_ConsortiumWrites    the same load spread over three replicas, each with its
//                          EtcdOrderer, on three etcd members started here (TLS);
//                          ratio_vs_solo against BM_SoloWrites of the same run;
//                          submitting:1 puts the whole load on one replica (no
//                          proposal races: the others only apply its blocks);
//                          forwarding:1 elects one proposer (the etcd lease) and the
//                          other two forward to it, in process here (in serve: HTTPS)
//   BM_*Latency            open loop at 80% of the consortium's measured writes/s
//                          (submitting:3/forwarding:1, the recommended shape;
//                          MEDLEDGER_BENCH_RATE=N sets it), submit ->
//                          callback; solo at the same rate
// MEDLEDGER_BENCH_POLL_MS=N sets the orderers' poll_interval (default 1 s).
// MEDLEDGER_BENCH_BATCH=N sets the etcd orderers' max_batch_count (default as solo's).
//   BM_CatchUpFromEtcd     a new replica joins after kCatchUpBlocks blocks: the
//                          time of EtcdOrderer::start (it syncs before returning),
//                          against Ledger::apply_block of the same blocks read from
//                          the founder's ledger (ordered_block) in the same run
// Catch-up from a peer (GET /v1/ledger/replication) needs serve processes: not here.
// Each benchmark starts its own etcd members and ledgers in temporary directories
// (TMPDIR: a real disk, so fsync means something) and removes them.
#include <openssl/rand.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_support.h"
#include "etcd_cluster.h"
#include "medledger/cluster/etcd_orderer.h"
#include "medledger/core/software_signer.h"
#include "medledger/ledger/genesis.h"
#include "medledger/ledger/kv_contract.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/ordering.h"
#include "temp_dir.h"

namespace {

using namespace medledger;
using Clock = std::chrono::steady_clock;
using bench::must;

constexpr int kReplicas = 3;
constexpr int kInFlight = 2000;  // outstanding transactions over all nodes
constexpr auto kWarmUp = std::chrono::seconds(2);
constexpr auto kMeasure = std::chrono::seconds(10);
constexpr auto kLatencyWarmUp = std::chrono::seconds(1);
constexpr auto kLatencyMeasure = std::chrono::seconds(6);
constexpr std::uint64_t kCatchUpBlocks = 300;
constexpr std::size_t kCatchUpBlockTxs = 100;
constexpr std::size_t kValueBytes = 200;  // a kv value; ~400 bytes on the wire
constexpr std::int64_t kTxTimeMs = 1700000000000;

// Same-run figures the later benchmarks set themselves against.
double g_solo_writes = 0;
double g_consortium_writes = 0;

std::string kv_put() {
  static std::atomic<std::uint64_t> counter{0};
  ledger::Transaction tx;
  tx.type = "record.put";
  tx.time_ms = kTxTimeMs;
  tx.nonce.resize(ledger::kMinNonceBytes);
  RAND_bytes(tx.nonce.data(), static_cast<int>(tx.nonce.size()));
  tx.body = boost::json::object{{"key", "key-" + std::to_string(counter++)},
                                {"value", std::string(kValueBytes, 'v')}};
  return ledger::encode_transaction(tx);
}

std::unique_ptr<core::SoftwareSigner> new_signer() {
  return must(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256), "proposer key");
}

std::unique_ptr<ledger::Ledger> found_ledger(const std::filesystem::path& dir,
                                             const std::vector<const core::Signer*>& proposers,
                                             ledger::Contract& contract, core::Signer& signer) {
  ledger::GenesisConfig config;
  config.consortium = "bench-consortium";
  config.hospitals = {
      {"hospital-a", {"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}}};
  config.proposers = proposers;
  config.contract = ledger::kKeyValueContractName;
  return must(ledger::Ledger::create(dir, ledger::make_genesis_document(config), contract, signer,
                                     kTxTimeMs),
              "genesis");
}

/// CPU seconds (user + system) of this process so far.
double own_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * t.tv_usec; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

/// CPU seconds (user + system) of process `pid` so far, from /proc/<pid>/stat; 0 if gone.
double process_cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // fields 3..13
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Replica {
  std::unique_ptr<core::SoftwareSigner> signer = new_signer();
  ledger::KeyValueContract contract;
  std::unique_ptr<ledger::Ledger> ledger;  // declared before the orderer: outlives it
  std::unique_ptr<cluster::EtcdOrderer> orderer;
};

// Three etcd members and three replica slots; replica 0 founds the ledger (genesis
// lists every slot's key), the others join from etcd.
class Consortium {
 public:
  Consortium() {
    testing::EtcdOptions etcd_options;
    etcd_options.members = 3;
    etcd_ = std::make_unique<testing::EtcdCluster>(etcd_options);
    if (auto started = etcd_->start(); !started)
      throw std::runtime_error("etcd: " + started.error().to_string());
  }
  ~Consortium() {
    // The founder last: with forwarding, the others hand it transactions until they stop.
    for (int i = kReplicas - 1; i >= 0; --i) replica(i).orderer.reset();
  }

  cluster::EtcdOrdererOptions options(int i, bool forwarding = false) {
    cluster::EtcdOrdererOptions o;
    o.etcd.endpoints = etcd_->endpoints();
    o.etcd.ca_file = etcd_->ca_file();
    o.etcd.client_certificate = etcd_->client_cert_file();
    o.etcd.client_key = etcd_->client_key_file();
    o.prefix = "/bench";
    o.node_name = "node-" + std::to_string(i);
    o.evidence_dir = dir_.path() / ("evidence-" + std::to_string(i));
    if (const char* poll = std::getenv("MEDLEDGER_BENCH_POLL_MS"))
      o.poll_interval = std::chrono::milliseconds(std::atoi(poll));
    if (const char* batch = std::getenv("MEDLEDGER_BENCH_BATCH"))
      o.max_batch_count = static_cast<std::size_t>(std::atoi(batch));
    if (forwarding) {
      o.advertise_url = "inproc://" + std::to_string(i);
      o.forward = [this](const std::string& url, const std::vector<std::string>& wires) {
        cluster::EtcdOrderer& to = *replica(std::stoi(url.substr(9))).orderer;
        std::vector<bool> held;
        for (const std::string& wire : wires)
          held.push_back(static_cast<bool>(ledger::hold_forwarded(to, wire)));
        return core::Result<std::vector<bool>>(std::move(held));
      };
    }
    return o;
  }
  std::filesystem::path ledger_dir(int i) const {
    return dir_.path() / ("replica-" + std::to_string(i));
  }
  Replica& replica(int i) { return replicas_[static_cast<std::size_t>(i)]; }
  double etcd_cpu_seconds() const {
    double total = 0;
    for (int m = 0; m < etcd_->size(); ++m) total += process_cpu_seconds(etcd_->pid(m));
    return total;
  }

  /// Founds (i = 0) or joins (else) replica i, then starts its orderer.
  void start(int i, const cluster::EtcdOrdererOptions& o) {
    Replica& r = replica(i);
    if (i == 0) {
      std::vector<const core::Signer*> proposers;
      for (auto& other : replicas_) proposers.push_back(other.signer.get());
      r.ledger = found_ledger(ledger_dir(i), proposers, r.contract, *r.signer);
    } else {
      r.ledger = must(cluster::EtcdOrderer::join(ledger_dir(i), r.contract, o), "join");
    }
    r.orderer = must(cluster::EtcdOrderer::start(*r.ledger, r.contract, *r.signer, o), "start");
  }
  void start(int i) { start(i, options(i)); }
  /// Starts every replica (the founder first: with `forwarding` it takes the proposer
  /// lease); returns the orderers of the first `submitting`.
  std::vector<ledger::Orderer*> start_all(int submitting, bool forwarding) {
    std::vector<ledger::Orderer*> orderers;
    for (int i = 0; i < kReplicas; ++i) {
      start(i, options(i, forwarding));
      if (i < submitting) orderers.push_back(replica(i).orderer.get());
    }
    return orderers;
  }

 private:
  std::unique_ptr<testing::EtcdCluster> etcd_;
  testing::TempDir dir_;
  std::array<Replica, kReplicas> replicas_;
};

struct Solo {
  testing::TempDir dir;
  std::unique_ptr<core::SoftwareSigner> signer = new_signer();
  ledger::KeyValueContract contract;
  std::unique_ptr<ledger::Ledger> ledger =
      found_ledger(dir.path() / "ledger", {signer.get()}, contract, *signer);
  std::unique_ptr<ledger::SoloOrderer> orderer =
      ledger::SoloOrderer::start(*ledger, contract, *signer);
};

// Closed loop: one feeder thread per orderer keeps its share of kInFlight outstanding;
// each callback counts the outcome and lets the feeder submit the next.
class ClosedLoop {
 public:
  explicit ClosedLoop(std::vector<ledger::Orderer*> orderers)
      : slots_(orderers.size()), target_(kInFlight / static_cast<int>(orderers.size())) {
    for (std::size_t i = 0; i < orderers.size(); ++i)
      feeders_.emplace_back([this, i, orderer = orderers[i]] { feed(*orderer, slots_[i]); });
  }
  ~ClosedLoop() { finish(); }
  /// Stops submitting and waits (at most 60 s) for every outstanding outcome.
  void finish() {
    stop_ = true;
    for (auto& f : feeders_)
      if (f.joinable()) f.join();
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    for (auto& s : slots_)
      while (s.outstanding.load() > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::uint64_t committed() const { return committed_.load(); }
  std::uint64_t failed() const { return failed_.load(); }

 private:
  struct Slot {
    std::atomic<int> outstanding{0};
  };
  void feed(ledger::Orderer& orderer, Slot& slot) {
    while (!stop_) {
      const int now = slot.outstanding.load();
      if (now >= target_) {
        slot.outstanding.wait(now);
        continue;
      }
      slot.outstanding.fetch_add(1);
      orderer.submit_then(kv_put(), [this, &slot](core::Result<ledger::Receipt> outcome) {
        (outcome ? committed_ : failed_).fetch_add(1);
        slot.outstanding.fetch_sub(1);
        slot.outstanding.notify_one();
      });
    }
  }
  std::vector<Slot> slots_;
  const int target_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> committed_{0}, failed_{0};
  std::vector<std::thread> feeders_;
};

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

/// Writes/s of the closed loop over `orderers`, measured after a warm-up; `blocks`
/// tells how many blocks the orderers have made so far (for transactions per block).
/// `etcd_cpu` tells the CPU seconds of the etcd members so far (0 for solo). The CPU
/// per write (this process: every replica, the feeders; etcd) shows where the two cores go.
template <typename Blocks, typename EtcdCpu>
double measure_writes(benchmark::State& state, std::vector<ledger::Orderer*> orderers,
                      Blocks blocks, EtcdCpu etcd_cpu) {
  ClosedLoop loop(std::move(orderers));
  std::this_thread::sleep_for(kWarmUp);
  const auto t0 = Clock::now();
  const std::uint64_t c0 = loop.committed(), b0 = blocks();
  const double own0 = own_cpu_seconds(), etcd0 = etcd_cpu();
  std::this_thread::sleep_for(kMeasure);
  const auto t1 = Clock::now();
  const std::uint64_t c1 = loop.committed(), b1 = blocks();
  const double own1 = own_cpu_seconds(), etcd1 = etcd_cpu();
  loop.finish();
  const double elapsed = seconds(t1 - t0);
  const double writes = static_cast<double>(c1 - c0) / elapsed;
  const double committed = static_cast<double>(std::max<std::uint64_t>(c1 - c0, 1));
  state.counters["own_cpu_us_per_write"] = 1e6 * (own1 - own0) / committed;
  state.counters["etcd_cpu_us_per_write"] = 1e6 * (etcd1 - etcd0) / committed;
  state.SetIterationTime(elapsed);
  state.counters["writes_per_s"] = writes;
  state.counters["blocks_per_s"] = static_cast<double>(b1 - b0) / elapsed;
  state.counters["tx_per_block"] =
      b1 > b0 ? static_cast<double>(c1 - c0) / static_cast<double>(b1 - b0) : 0.0;
  state.counters["failed"] = static_cast<double>(loop.failed());
  return writes;
}

void BM_SoloWrites(benchmark::State& state) {
  for (auto _ : state) {
    Solo solo;
    g_solo_writes = measure_writes(
        state, {solo.orderer.get()}, [&] { return solo.orderer->blocks_committed(); },
        [] { return 0.0; });
  }
}

std::uint64_t races_lost(Consortium& consortium) {
  std::uint64_t n = 0;
  for (int i = 0; i < kReplicas; ++i) n += consortium.replica(i).orderer->races_lost();
  return n;
}

std::uint64_t forwarded(Consortium& consortium) {
  std::uint64_t n = 0;
  for (int i = 0; i < kReplicas; ++i) n += consortium.replica(i).orderer->transactions_forwarded();
  return n;
}

// range(0): how many of the three replicas take the writes (the others only apply);
// range(1): 1 = one proposer, the others forward to it.
void BM_ConsortiumWrites(benchmark::State& state) {
  const auto submitting = static_cast<int>(state.range(0));
  const bool forwarding = state.range(1) != 0;
  for (auto _ : state) {
    Consortium consortium;
    const auto orderers = consortium.start_all(submitting, forwarding);
    const std::uint64_t races0 = races_lost(consortium);
    const double writes = measure_writes(
        state, orderers,
        [&] {
          std::uint64_t n = 0;
          for (int i = 0; i < kReplicas; ++i) n += consortium.replica(i).orderer->blocks_proposed();
          return n;
        },
        [&] { return consortium.etcd_cpu_seconds(); });
    if (submitting == kReplicas && forwarding) g_consortium_writes = writes;
    state.counters["races_lost"] = static_cast<double>(races_lost(consortium) - races0);
    state.counters["forwarded"] = static_cast<double>(forwarded(consortium));
    if (g_solo_writes > 0) state.counters["ratio_vs_solo"] = writes / g_solo_writes;
  }
}

double latency_rate() {
  if (const char* rate = std::getenv("MEDLEDGER_BENCH_RATE")) return std::atof(rate);
  return 0.8 * g_consortium_writes;
}

/// Open loop at `rate`/s round-robin over `orderers` for kLatencyWarmUp +
/// kLatencyMeasure; reports p50/p99/max of submit -> callback over the measured part.
void measure_latency(benchmark::State& state, const std::vector<ledger::Orderer*>& orderers,
                     double rate) {
  const auto total = static_cast<std::size_t>(rate * seconds(kLatencyWarmUp + kLatencyMeasure));
  const auto skip = static_cast<std::size_t>(rate * seconds(kLatencyWarmUp));
  std::vector<std::string> wires;
  wires.reserve(total);
  for (std::size_t i = 0; i < total; ++i) wires.push_back(kv_put());
  std::vector<double> latency_ms(total, -1.0);
  std::atomic<std::size_t> done{0}, failed{0};
  const auto start = Clock::now();
  for (std::size_t i = 0; i < total; ++i) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(i) / rate));
    if (Clock::now() < due) std::this_thread::sleep_until(due);
    const auto submitted = Clock::now();
    orderers[i % orderers.size()]->submit_then(
        std::move(wires[i]), [&, i, submitted](core::Result<ledger::Receipt> outcome) {
          if (outcome)
            latency_ms[i] = 1e3 * seconds(Clock::now() - submitted);
          else
            failed.fetch_add(1);
          done.fetch_add(1);
        });
  }
  const double submit_s = seconds(Clock::now() - start);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (done.load() < total && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::vector<double> measured;
  for (std::size_t i = skip; i < total; ++i)
    if (latency_ms[i] >= 0) measured.push_back(latency_ms[i]);
  if (measured.empty() || done.load() < total)
    return state.SkipWithError("latency: outcomes missing");
  std::sort(measured.begin(), measured.end());
  auto at = [&](double q) {
    return measured[std::min(measured.size() - 1,
                             static_cast<std::size_t>(q * static_cast<double>(measured.size())))];
  };
  state.SetIterationTime(seconds(kLatencyMeasure));
  state.counters["rate_per_s"] = rate;
  state.counters["offered_per_s"] = static_cast<double>(total) / submit_s;
  state.counters["p50_ms"] = at(0.50);
  state.counters["p99_ms"] = at(0.99);
  state.counters["max_ms"] = measured.back();
  state.counters["failed"] = static_cast<double>(failed.load());
}

// range(0), range(1): as in BM_ConsortiumWrites.
void BM_ConsortiumLatency(benchmark::State& state) {
  const auto submitting = static_cast<int>(state.range(0));
  const bool forwarding = state.range(1) != 0;
  const double rate = latency_rate();
  if (rate <= 0)
    return state.SkipWithError("run BM_ConsortiumWrites first or set MEDLEDGER_BENCH_RATE");
  for (auto _ : state) {
    Consortium consortium;
    const auto orderers = consortium.start_all(submitting, forwarding);
    const std::uint64_t races0 = races_lost(consortium);
    measure_latency(state, orderers, rate);
    state.counters["races_lost"] = static_cast<double>(races_lost(consortium) - races0);
  }
}

// Solo at the same absolute rate: what the consortium adds to the latency.
void BM_SoloLatency(benchmark::State& state) {
  const double rate = latency_rate();
  if (rate <= 0)
    return state.SkipWithError("run BM_ConsortiumWrites first or set MEDLEDGER_BENCH_RATE");
  for (auto _ : state) {
    Solo solo;
    measure_latency(state, {solo.orderer.get()}, rate);
  }
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void BM_CatchUpFromEtcd(benchmark::State& state) {
  for (auto _ : state) {
    Consortium consortium;
    auto founder_options = consortium.options(0);
    founder_options.max_batch_count = kCatchUpBlockTxs;
    consortium.start(0, founder_options);
    ledger::Ledger& founder = *consortium.replica(0).ledger;
    auto height = [&] { return must(founder.tip(), "tip").block.header.height; };
    {
      ClosedLoop loop({consortium.replica(0).orderer.get()});
      while (height() < kCatchUpBlocks) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const std::uint64_t blocks = height();
    const double txs = static_cast<double>(must(founder.tip(), "tip").block.header.log_size);

    // From etcd: join (block 0) untimed; start() reconciles and applies the rest.
    const auto t0 = Clock::now();
    consortium.start(1);
    const double etcd_s = seconds(Clock::now() - t0);
    if (consortium.replica(1).ledger->tip()->block.header.height < blocks)
      return state.SkipWithError("catch-up: start() returned before the founder's tip");

    // Local: the same blocks from the founder's ledger into a fresh replica.
    testing::TempDir local_dir;
    ledger::KeyValueContract contract;
    ledger::BlockCheckOptions check{now_ms()};
    auto local = must(
        ledger::Ledger::create_replica(local_dir.path() / "replica",
                                       must(founder.ordered_block(0), "block 0"), contract, check),
        "replica");
    const auto t1 = Clock::now();
    for (std::uint64_t h = 1; h <= blocks; ++h)
      must(local->apply_block(must(founder.ordered_block(h), "block"), contract, check), "apply");
    const double local_s = seconds(Clock::now() - t1);

    state.SetIterationTime(etcd_s);
    const double etcd_rate = static_cast<double>(blocks) / etcd_s;
    const double local_rate = static_cast<double>(blocks) / local_s;
    state.counters["blocks"] = static_cast<double>(blocks);
    state.counters["tx_per_block"] = txs / static_cast<double>(blocks);
    state.counters["blocks_per_s"] = etcd_rate;
    state.counters["local_blocks_per_s"] = local_rate;
    state.counters["ratio_vs_local"] = etcd_rate / local_rate;
  }
}

// The consortium shapes: the load on all three replicas (each proposing, or one proposer
// the others forward to), and on one.
void submitting_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"submitting", "forwarding"})
      ->Args({kReplicas, 0})
      ->Args({kReplicas, 1})
      ->Args({1, 0})
      ->Iterations(1)
      ->UseManualTime();
  b->Unit(benchmark::kSecond);
}

BENCHMARK(BM_SoloWrites)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_ConsortiumWrites)->Apply(submitting_shapes);
BENCHMARK(BM_ConsortiumLatency)->Apply(submitting_shapes);
BENCHMARK(BM_SoloLatency)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_CatchUpFromEtcd)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
