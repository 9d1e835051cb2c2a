// Token signing throughput and wrapped-key latency, with their baselines from the
// same run (issue 2). Everything runs on a fresh SoftHSM2 token that this program
// makes in a temporary directory and removes at exit.
//
//   (a) openssl_sign                 core::SoftwareSigner, P-256 in memory: the ceiling
//   (b) raw_sign/token_object        C_SignInit+C_Sign loop, one session per thread, token key
//   (c) raw_sign/session_copy        the same with a per-session C_CopyObject(CKA_TOKEN=FALSE)
//   (d) pool_sign/<strategy>         TokenSigner through SessionPool, both key strategies
//   (e) wrapped_sign/few             WrappedKeyStore::sign_digest(blob) on a random blob among 10
//       wrapped_sign/many_active     the same among an active set of kActiveWrappedKeys of the N
//                                    (fits the cache; warmed up): the steady state
//       wrapped_sign/many_uniform    the same uniformly over all N (N >> the cache): the miss path
//       wrapped_sign/first_use       each signature with a blob this store never saw (fresh
//                                    pool and store): miss + the once-per-blob pairing check
//       wrapped_signer/few           through WrappedKeyStore::signer objects (blob decoded once)
//   (f) nss/...                      (b), (c), (d) with the default strategy, and wrapped_sign
//       nss/wrapped_sign/few, wrapped_sign{,/nss}/unwrap_each (a pool caching one key, ten
//       blobs: ~90% of signatures unwrap), on NSS's softoken (libsoftokn3.so) in a
//       database made by certutil, loaded with its initialisation arguments, same run
// (a)-(d) and (f)'s raw/pool run with 1 and 2 threads (aggregate signatures/s, real time);
// the wrapped ones with one.
// Each wrapped group has its own pool, so one group's misses never evict another's keys.
// After the runs a table prints the ratios docs/PERFORMANCE.md records.
//
// MEDLEDGER_BENCH_WRAPPED_KEYS overrides the large wrapped-key count (default 100000).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "medledger/core/secret.h"
#include "medledger/core/sha256.h"
#include "medledger/core/software_signer.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/limits.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/session.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/hsm/token.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/hsm/wrapped_key.h"

namespace {

using namespace medledger;

constexpr const char* kTokenLabel = "bench";
constexpr const char* kSoPin = "bench-so-pin";  // a throwaway token: fixed PINs are fine here
constexpr const char* kUserPin = "bench-user-pin";
constexpr std::size_t kFewWrappedKeys = 10;
constexpr std::size_t kDefaultManyWrappedKeys = 100000;
// Persons active at once in the steady-state case: half the default cache bound.
constexpr std::size_t kActiveWrappedKeys = hsm::kDefaultUnwrappedKeys / 2;
constexpr int kMaxThreads = 2;  // the reference machine has two cores
constexpr CK_ULONG kP256SignatureSize = 64;

using bench::must;
using bench::secret;

std::size_t many_wrapped_keys() {
  if (const char* text = std::getenv("MEDLEDGER_BENCH_WRAPPED_KEYS")) return std::stoul(text);
  return kDefaultManyWrappedKeys;
}

// The token and everything the benchmarks share, made once before they run.
struct BenchToken {
  std::filesystem::path root;
  std::shared_ptr<hsm::Module> module;
  std::map<hsm::SigningKeyStrategy, std::shared_ptr<hsm::SessionPool>> pools;
  std::map<hsm::SigningKeyStrategy, std::unique_ptr<hsm::TokenSigner>> token_signers;
  std::unique_ptr<core::SoftwareSigner> software_signer;
  hsm::KeyInfo key;
  // One pool and store per wrapped group (see the header comment).
  std::shared_ptr<hsm::SessionPool> hot_pool, miss_pool, first_use_pool;
  std::unique_ptr<hsm::WrappedKeyStore> hot_store, miss_store, first_use_store;
  std::vector<core::Bytes> few_blobs;
  std::vector<core::Bytes> many_blobs;
  std::vector<core::Bytes> active_blobs;  // the first kActiveWrappedKeys of many_blobs
  double many_blobs_seconds = 0;
  double warm_up_seconds = 0;
  std::atomic<std::size_t> next_fresh_blob{0};
  std::vector<std::unique_ptr<core::Signer>> few_signers;

  BenchToken() {
    root = bench::make_softhsm_directory("medledger-bench");

    module = must(hsm::Module::load(hsm::kDefaultModulePath), "load SoftHSM2");
    must(hsm::init_token(*module, kTokenLabel, secret(kSoPin), secret(kUserPin)), "init token");
    auto selector = hsm::TokenSelector::by_label(kTokenLabel);
    auto kek = must(hsm::create_kek(*module, selector, secret(kSoPin)), "create KEK");
    for (auto strategy :
         {hsm::SigningKeyStrategy::kTokenObject, hsm::SigningKeyStrategy::kSessionCopy}) {
      hsm::PoolOptions options;
      options.strategy = strategy;
      pools[strategy] =
          must(hsm::SessionPool::open(module, selector, secret(kUserPin), options), "open pool");
    }
    auto& default_pool = pools.at(hsm::kDefaultSigningKeyStrategy);
    hsm::KeyStore keys(default_pool);
    key = must(keys.generate({"bench-key", core::KeyAlgorithm::kEcdsaP256}), "generate key");
    for (auto& [strategy, pool] : pools) {
      token_signers[strategy] = must(hsm::KeyStore(pool).signer(key.id), "token signer");
    }
    software_signer =
        must(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256), "software key");

    auto wrapped_group = [&](std::shared_ptr<hsm::SessionPool>& pool,
                             std::unique_ptr<hsm::WrappedKeyStore>& store) {
      pool = must(hsm::SessionPool::open(module, selector, secret(kUserPin)), "open wrapped pool");
      store = must(hsm::WrappedKeyStore::open(pool, kek), "open wrapped store");
    };
    wrapped_group(hot_pool, hot_store);
    wrapped_group(miss_pool, miss_store);
    wrapped_group(first_use_pool, first_use_store);
    few_blobs = generate_blobs(*hot_store, kFewWrappedKeys);
    auto started = std::chrono::steady_clock::now();
    many_blobs = generate_blobs(*miss_store, many_wrapped_keys());
    many_blobs_seconds = seconds_since(started);
    active_blobs.assign(many_blobs.begin(),
                        many_blobs.begin() + static_cast<std::ptrdiff_t>(
                                                 std::min(kActiveWrappedKeys, many_blobs.size())));
    // Steady state: every active key unwrapped (and paired: hot_store did not make
    // them) once before the measurement, as a running node would have.
    started = std::chrono::steady_clock::now();
    const core::Digest warm_up = digest_for(0);
    for (const auto& blob : active_blobs) must(hot_store->sign_digest(blob, warm_up), "warm up");
    for (const auto& blob : few_blobs) must(hot_store->sign_digest(blob, warm_up), "warm up");
    // Uniform access: fill the miss pool's cache with random keys first, so the runs
    // measure the steady state (hit rate = cache bound / N, 16% at 100,000 keys).
    std::mt19937_64 warm_random(7);
    std::uniform_int_distribution<std::size_t> pick(0, many_blobs.size() - 1);
    for (std::size_t i = 0; i < hsm::kDefaultUnwrappedKeys; ++i) {
      must(miss_store->sign_digest(many_blobs[pick(warm_random)], warm_up), "warm up");
    }
    warm_up_seconds = seconds_since(started);
    for (const auto& blob : few_blobs)
      few_signers.push_back(must(hot_store->signer(blob), "wrapped signer"));
  }

  ~BenchToken() {
    few_signers.clear();
    token_signers.clear();
    hot_store.reset();
    miss_store.reset();
    first_use_store.reset();
    hot_pool.reset();
    miss_pool.reset();
    first_use_pool.reset();
    pools.clear();
    module.reset();
    std::error_code ignored;
    std::filesystem::remove_all(root, ignored);
  }

  // Wrapped keys generated in the token on kMaxThreads threads (key generation dominates).
  static double seconds_since(std::chrono::steady_clock::time_point started) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  static core::Digest digest_for(std::uint64_t counter) {
    std::string message = "medledger bench " + std::to_string(counter);
    return core::sha256(core::to_bytes(message));
  }

  static std::vector<core::Bytes> generate_blobs(hsm::WrappedKeyStore& store, std::size_t count) {
    std::vector<core::Bytes> blobs(count);
    std::vector<std::thread> threads;
    std::vector<std::string> errors(kMaxThreads);
    for (int t = 0; t < kMaxThreads; ++t) {
      threads.emplace_back([&, t] {
        for (std::size_t i = t; i < count; i += kMaxThreads) {
          auto blob = store.generate(core::KeyAlgorithm::kEcdsaP256);
          if (!blob) {
            errors[t] = blob.error().to_string();
            return;
          }
          blobs[i] = std::move(*blob);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (auto& error : errors) {
      if (!error.empty()) throw std::runtime_error("wrapped key generation: " + error);
    }
    return blobs;
  }
};

// What bench_raw_sign needs of a token: a session of this module, logged in, and the key.
struct RawTarget {
  std::shared_ptr<hsm::Module> module;
  std::shared_ptr<hsm::SessionPool> pool;
  core::Bytes key_id;
};

constexpr const char* kNssModule = "/usr/lib/x86_64-linux-gnu/libsoftokn3.so";

// The same token signing and wrapped keys on NSS's softoken: a database made by
// certutil in a temporary directory (its password is the user PIN), no SO (the KEK is
// the user's), the module loaded with its database settings as C_Initialize arguments.
struct NssToken {
  std::filesystem::path root;
  std::shared_ptr<hsm::Module> module;
  std::shared_ptr<hsm::SessionPool> pool, wrapped_pool, unwrap_pool;
  std::unique_ptr<hsm::TokenSigner> signer;
  hsm::KeyInfo key;
  std::unique_ptr<hsm::WrappedKeyStore> store, unwrap_store;
  std::vector<core::Bytes> few_blobs;

  explicit NssToken(const std::filesystem::path& parent) : root(parent / "nssdb") {
    std::filesystem::create_directories(root);
    const auto pw = parent / "nss.pw";
    std::ofstream(pw) << kUserPin << "\n";
    const std::string make = "certutil -N -d 'sql:" + root.string() + "' -f '" + pw.string() + "'";
    if (std::system(make.c_str()) != 0) throw std::runtime_error("certutil -N failed");
    const std::string args = "configdir='sql:" + root.string() +
                             "' certPrefix='' keyPrefix='' secmod='secmod.db' flags= "
                             "tokens=<0x02=[configdir='sql:" +
                             root.string() + "' tokenDescription='" + kTokenLabel + "']>";
    module = must(hsm::Module::load(kNssModule, secret(args)), "load NSS softoken");
    auto selector = hsm::TokenSelector::by_label(kTokenLabel);
    auto kek = must(hsm::create_kek_without_so(*module, selector, secret(kUserPin)), "NSS KEK");
    pool = must(hsm::SessionPool::open(module, selector, secret(kUserPin)), "open NSS pool");
    key = must(hsm::KeyStore(pool).generate({"bench-key", core::KeyAlgorithm::kEcdsaP256}),
               "generate NSS key");
    signer = must(hsm::KeyStore(pool).signer(key.id), "NSS token signer");
    wrapped_pool = must(hsm::SessionPool::open(module, selector, secret(kUserPin)), "NSS pool");
    store = must(hsm::WrappedKeyStore::open(wrapped_pool, kek.id), "NSS wrapped store");
    few_blobs = BenchToken::generate_blobs(*store, kFewWrappedKeys);
    const core::Digest warm_up = BenchToken::digest_for(0);
    for (const auto& blob : few_blobs) must(store->sign_digest(blob, warm_up), "NSS warm up");
    hsm::PoolOptions one_key;
    one_key.max_unwrapped_keys = 1;
    unwrap_pool = must(hsm::SessionPool::open(module, selector, secret(kUserPin), one_key),
                       "NSS unwrap pool");
    unwrap_store = must(hsm::WrappedKeyStore::open(unwrap_pool, kek.id), "NSS unwrap store");
  }
  ~NssToken() {
    unwrap_store.reset();
    store.reset();
    signer.reset();
    unwrap_pool.reset();
    wrapped_pool.reset();
    pool.reset();
    module.reset();
  }
  RawTarget raw() const { return {module, pool, key.id}; }
};

BenchToken* token = nullptr;
NssToken* nss = nullptr;
// SoftHSM2's counterpart of NssToken::unwrap_store: a pool that caches one key.
std::shared_ptr<hsm::SessionPool> softhsm_unwrap_pool;
std::unique_ptr<hsm::WrappedKeyStore> softhsm_unwrap_store;

core::Digest digest_for(std::uint64_t counter) { return BenchToken::digest_for(counter); }

void report_failure(benchmark::State& state, const core::Error& error) {
  state.SkipWithError(error.to_string().c_str());
}

void bench_openssl_sign(benchmark::State& state) {
  std::uint64_t counter = 0;
  for (auto _ : state) {
    auto signature = token->software_signer->sign_digest(digest_for(counter++));
    if (!signature) return report_failure(state, signature.error());
    benchmark::DoNotOptimize(signature->data());
  }
  state.SetItemsProcessed(state.iterations());
}

// (b) and (c): what the token can do with no pool at all, one session per thread.
void bench_raw_sign(benchmark::State& state, bool session_copy, bool on_nss) {
  const RawTarget target =
      on_nss ? nss->raw()
             : RawTarget{token->module, token->pools.at(hsm::kDefaultSigningKeyStrategy),
                         token->key.id};
  auto session = hsm::Session::open(target.module, target.pool->token().slot);
  if (!session) return report_failure(state, session.error());
  CK_FUNCTION_LIST* p11 = session->fn();
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  std::vector<CK_ATTRIBUTE> match = {
      {CKA_CLASS, &private_class, sizeof(private_class)},
      {CKA_ID, const_cast<std::uint8_t*>(target.key_id.data()), target.key_id.size()},
  };
  auto found =
      session->find_objects(match, 1);  // logged in already: login state is per application
  if (!found || found->size() != 1) {
    state.SkipWithError("private key not found by CKA_ID");
    return;
  }
  CK_OBJECT_HANDLE key = found->front();
  if (session_copy) {
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE session_object = {CKA_TOKEN, &no, sizeof(no)};
    CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
    if (CK_RV rv = p11->C_CopyObject(session->handle(), key, &session_object, 1, &copy);
        rv != CKR_OK) {
      state.SkipWithError(("C_CopyObject failed: " + std::to_string(rv)).c_str());
      return;
    }
    key = copy;  // a session object: closing the session destroys it
  }
  CK_MECHANISM ecdsa = {CKM_ECDSA, nullptr, 0};
  std::uint64_t counter = 0;
  for (auto _ : state) {
    core::Digest digest = digest_for(counter++);
    std::uint8_t signature[kP256SignatureSize];
    CK_ULONG length = sizeof(signature);
    CK_RV rv = p11->C_SignInit(session->handle(), &ecdsa, key);
    if (rv == CKR_OK)
      rv = p11->C_Sign(session->handle(), digest.data(), digest.size(), signature, &length);
    if (rv != CKR_OK) {
      state.SkipWithError(("C_SignInit/C_Sign failed: " + std::to_string(rv)).c_str());
      return;
    }
    benchmark::DoNotOptimize(signature);
  }
  state.SetItemsProcessed(state.iterations());
}

void bench_pool_sign(benchmark::State& state, hsm::SigningKeyStrategy strategy, bool on_nss) {
  auto& signer = on_nss ? *nss->signer : *token->token_signers.at(strategy);
  std::uint64_t counter = static_cast<std::uint64_t>(state.thread_index()) << 32;
  for (auto _ : state) {
    auto signature = signer.sign_digest(digest_for(counter++));
    if (!signature) return report_failure(state, signature.error());
    benchmark::DoNotOptimize(signature->data());
  }
  state.SetItemsProcessed(state.iterations());
}

// (e): a random key among N; with N far above the cache bound almost every
// signature needs a C_UnwrapKey first.
void bench_wrapped_sign(benchmark::State& state, hsm::WrappedKeyStore* store,
                        const std::vector<core::Bytes>* blobs) {
  // One generator for the whole program: a run must not replay the draws of the run
  // before it (they would all be cache hits).
  static std::mt19937_64 random(42);
  std::uniform_int_distribution<std::size_t> pick(0, blobs->size() - 1);
  std::uint64_t counter = 0;
  for (auto _ : state) {
    auto signature = store->sign_digest((*blobs)[pick(random)], digest_for(counter++));
    if (!signature) return report_failure(state, signature.error());
    benchmark::DoNotOptimize(signature->data());
  }
  state.SetItemsProcessed(state.iterations());
}

// A blob the first-use store has never seen, each iteration: a miss plus the
// once-per-blob pairing check (what the first signature after a restart costs).
void bench_wrapped_first_use(benchmark::State& state) {
  std::uint64_t counter = 0;
  for (auto _ : state) {
    std::size_t index = token->next_fresh_blob.fetch_add(1);
    if (index >= token->many_blobs.size()) {
      state.SkipWithError("no fresh blobs left: raise MEDLEDGER_BENCH_WRAPPED_KEYS");
      return;
    }
    auto signature =
        token->first_use_store->sign_digest(token->many_blobs[index], digest_for(counter++));
    if (!signature) return report_failure(state, signature.error());
    benchmark::DoNotOptimize(signature->data());
  }
  state.SetItemsProcessed(state.iterations());
}

void bench_wrapped_signer(benchmark::State& state,
                          const std::vector<std::unique_ptr<core::Signer>>* signers) {
  std::mt19937_64 random(42);
  std::uniform_int_distribution<std::size_t> pick(0, signers->size() - 1);
  std::uint64_t counter = 0;
  for (auto _ : state) {
    auto signature = (*signers)[pick(random)]->sign_digest(digest_for(counter++));
    if (!signature) return report_failure(state, signature.error());
    benchmark::DoNotOptimize(signature->data());
  }
  state.SetItemsProcessed(state.iterations());
}

void print_ratio(const char* what, double value, double target = 0) {
  if (target > 0) {
    std::printf("  %-58s %7.3fx  (target %s %.2fx)\n", what, value,
                value >= target ? "met:" : "MISSED:", target);
  } else {
    std::printf("  %-58s %7.3fx\n", what, value);
  }
}

void print_ratios(const bench::RateReporter& reporter) {
  std::printf("\nRatios (signatures/s, median of repetitions; real time; same run)\n");
  for (int threads = 1; threads <= kMaxThreads; ++threads) {
    const double raw_object = reporter.rate("raw_sign/token_object", threads);
    const double raw_copy = reporter.rate("raw_sign/session_copy", threads);
    const double best_raw = std::max(raw_object, raw_copy);
    const double pool_object = reporter.rate("pool_sign/token_object", threads);
    const double pool_copy = reporter.rate("pool_sign/session_copy", threads);
    const double openssl = reporter.rate("openssl_sign", threads);
    if (best_raw <= 0 || openssl <= 0) continue;
    std::printf(" %d thread(s): best raw loop %.0f/s (%s), OpenSSL %.0f/s\n", threads, best_raw,
                raw_copy >= raw_object ? "session copy" : "token object", openssl);
    print_ratio("raw loop session copy / raw loop token object", raw_copy / raw_object);
    print_ratio("pool (session copy, default) / best raw loop", pool_copy / best_raw, 0.9);
    const double raw_cpu = reporter.cpu_seconds("raw_sign/session_copy", threads);
    const double pool_cpu = reporter.cpu_seconds("pool_sign/session_copy", threads);
    if (raw_cpu > 0 && pool_cpu > 0) {
      std::printf("  %-58s %7.3fx  (%.1f us vs %.1f us CPU per signature)\n",
                  "CPU per signature, raw session copy / pool (default)", raw_cpu / pool_cpu,
                  raw_cpu * 1e6, pool_cpu * 1e6);
    }
    print_ratio("pool (token object) / best raw loop", pool_object / best_raw);
    print_ratio("best token (pool, default) / OpenSSL in memory", pool_copy / openssl);
    const double nss_object = reporter.rate("nss/raw_sign/token_object", threads);
    const double nss_copy = reporter.rate("nss/raw_sign/session_copy", threads);
    const double nss_pool = reporter.rate("nss/pool_sign/session_copy", threads);
    if (nss_pool > 0 && std::max(nss_object, nss_copy) > 0) {
      std::printf("  NSS softoken: best raw loop %.0f/s (%s), pool %.0f/s\n",
                  std::max(nss_object, nss_copy),
                  nss_copy >= nss_object ? "session copy" : "token object", nss_pool);
      print_ratio("NSS: pool (session copy, default) / best raw loop",
                  nss_pool / std::max(nss_object, nss_copy), 0.9);
      print_ratio("NSS pool / SoftHSM2 pool (default)", nss_pool / pool_copy);
    }
  }
  auto latency = [&](const char* name, const char* what) {
    const double rate = reporter.rate(name, 1);
    if (rate > 0) std::printf("  %-58s %7.1f us\n", what, 1e6 / rate);
  };
  std::printf(" wrapped-key sign latency, 1 thread (both modules, same run):\n");
  latency("wrapped_sign/few", "SoftHSM2, 10 keys (cache hits)");
  latency("nss/wrapped_sign/few", "NSS softoken, 10 keys (cache hits)");
  latency("wrapped_sign/unwrap_each", "SoftHSM2, 10 keys, pool caching 1 (~90% unwrap)");
  latency("nss/wrapped_sign/unwrap_each", "NSS softoken, 10 keys, pool caching 1 (~90% unwrap)");
  const double few = reporter.rate("wrapped_sign/few", 1);
  const double pool_one = reporter.rate("pool_sign/session_copy", 1);
  if (few > 0) {
    std::printf(" wrapped keys, 1 thread: 10 keys %.0f/s (%.1f us)\n", few, 1e6 / few);
    auto versus_few = [&](const char* name, const char* what, bool target) {
      const double rate = reporter.rate(name, 1);
      if (rate <= 0) return;
      const double cpu_ratio =
          reporter.cpu_seconds(name, 1) / reporter.cpu_seconds("wrapped_sign/few", 1);
      std::printf("  %-58s %7.3fx  (%.1f us; CPU %.3fx)", what, few / rate, 1e6 / rate, cpu_ratio);
      if (target) std::printf("  (target within 1.20x: %s)", few / rate <= 1.2 ? "met" : "MISSED");
      std::printf("\n");
    };
    versus_few("wrapped_sign/many_active", "latency, active set of the many keys / 10 keys", true);
    versus_few("wrapped_sign/many_uniform", "latency, uniform over the many keys / 10 keys", true);
    versus_few("wrapped_sign/first_use", "latency, first use of a blob / 10 keys", false);
    versus_few("wrapped_signer/few", "latency, signer objects / sign_digest(blob), 10 keys", false);
    if (pool_one > 0)
      print_ratio("latency, 10 wrapped keys / token key through the pool", pool_one / few);
  }
  std::printf(
      " setup: %zu wrapped keys generated in %.1f s (%.0f keys/s on %d threads); warm-up (%zu "
      "active keys, "
      "%zu uniform draws) %.1f s; cache bound %zu keys per pool\n",
      token->many_blobs.size(), token->many_blobs_seconds,
      token->many_blobs.size() / token->many_blobs_seconds, kMaxThreads, token->active_blobs.size(),
      hsm::kDefaultUnwrappedKeys, token->warm_up_seconds, hsm::kDefaultUnwrappedKeys);
}

void register_benchmarks() {
  auto threaded = [](benchmark::internal::Benchmark* bench) {
    bench->Threads(1)->Threads(2)->UseRealTime();
  };
  threaded(benchmark::RegisterBenchmark("openssl_sign", bench_openssl_sign));
  threaded(benchmark::RegisterBenchmark("raw_sign/token_object", bench_raw_sign, false, false));
  threaded(benchmark::RegisterBenchmark("raw_sign/session_copy", bench_raw_sign, true, false));
  threaded(benchmark::RegisterBenchmark("pool_sign/token_object", bench_pool_sign,
                                        hsm::SigningKeyStrategy::kTokenObject, false));
  threaded(benchmark::RegisterBenchmark("pool_sign/session_copy", bench_pool_sign,
                                        hsm::SigningKeyStrategy::kSessionCopy, false));
  benchmark::RegisterBenchmark("wrapped_sign/unwrap_each", bench_wrapped_sign,
                               softhsm_unwrap_store.get(), &token->few_blobs)
      ->UseRealTime();
  if (nss != nullptr) {
    threaded(
        benchmark::RegisterBenchmark("nss/raw_sign/token_object", bench_raw_sign, false, true));
    threaded(benchmark::RegisterBenchmark("nss/raw_sign/session_copy", bench_raw_sign, true, true));
    threaded(benchmark::RegisterBenchmark("nss/pool_sign/session_copy", bench_pool_sign,
                                          hsm::SigningKeyStrategy::kSessionCopy, true));
    benchmark::RegisterBenchmark("nss/wrapped_sign/few", bench_wrapped_sign, nss->store.get(),
                                 &nss->few_blobs)
        ->UseRealTime();
    benchmark::RegisterBenchmark("nss/wrapped_sign/unwrap_each", bench_wrapped_sign,
                                 nss->unwrap_store.get(), &nss->few_blobs)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("wrapped_sign/few", bench_wrapped_sign, token->hot_store.get(),
                               &token->few_blobs)
      ->UseRealTime();
  benchmark::RegisterBenchmark("wrapped_sign/many_active", bench_wrapped_sign,
                               token->hot_store.get(), &token->active_blobs)
      ->UseRealTime();
  benchmark::RegisterBenchmark("wrapped_sign/many_uniform", bench_wrapped_sign,
                               token->miss_store.get(), &token->many_blobs)
      ->UseRealTime();
  benchmark::RegisterBenchmark("wrapped_sign/first_use", bench_wrapped_first_use)->UseRealTime();
  benchmark::RegisterBenchmark("wrapped_signer/few", bench_wrapped_signer, &token->few_signers)
      ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    BenchToken shared;
    token = &shared;
    std::printf("fresh SoftHSM2 token in %s; %zu wrapped keys made in %.1f s\n",
                shared.root.c_str(), shared.many_blobs.size(), shared.many_blobs_seconds);
    hsm::PoolOptions one_key;
    one_key.max_unwrapped_keys = 1;
    softhsm_unwrap_pool =
        must(hsm::SessionPool::open(shared.module, hsm::TokenSelector::by_label(kTokenLabel),
                                    secret(kUserPin), one_key),
             "SoftHSM2 unwrap pool");
    softhsm_unwrap_store =
        must(hsm::WrappedKeyStore::open(softhsm_unwrap_pool, shared.hot_store->kek_id()),
             "SoftHSM2 unwrap store");
    std::unique_ptr<NssToken> nss_token;
    if (std::filesystem::exists(kNssModule)) {
      nss_token = std::make_unique<NssToken>(shared.root);
      nss = nss_token.get();
      std::printf("NSS softoken %s: database in %s\n", kNssModule, nss_token->root.c_str());
    } else {
      std::printf("NSS softoken %s not installed: its runs are left out\n", kNssModule);
    }
    register_benchmarks();
    bench::RateReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    print_ratios(reporter);
    nss = nullptr;
    nss_token.reset();
    softhsm_unwrap_store.reset();
    softhsm_unwrap_pool.reset();
    token = nullptr;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "hsm_bench: %s\n", error.what());
    return 1;
  }
  benchmark::Shutdown();
  return 0;
}
