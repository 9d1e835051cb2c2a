// What the token benchmarks share: PIN literals as SecretBytes, unwrapping a Result
// (a benchmark cannot go on without its set-up), a fresh SoftHSM2 token directory,
// the median over --benchmark_repetitions (the 2-core machine is shared), and a console
// reporter that keeps each run's rate and CPU cost for the ratio tables.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "medledger/core/result.h"
#include "medledger/core/secret.h"

namespace medledger::bench {

inline core::SecretBytes secret(std::string_view text) {
  return core::SecretBytes(
      core::ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

template <typename T>
T must(core::Result<T> result, const char* what) {
  if (!result) throw std::runtime_error(std::string(what) + ": " + result.error().to_string());
  return std::move(*result);
}

/// Makes <tmp>/<prefix>-XXXXXX with its own softhsm2.conf and points SOFTHSM2_CONF at
/// it (read at C_Initialize). The caller removes the returned directory.
inline std::filesystem::path make_softhsm_directory(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  std::filesystem::path root = pattern;
  std::filesystem::create_directories(root / "tokens");
  std::ofstream(root / "softhsm2.conf")
      << "directories.tokendir = " << (root / "tokens").string() << "\n"
      << "objectstore.backend = file\nlog.level = ERROR\n";
  ::setenv("SOFTHSM2_CONF", (root / "softhsm2.conf").c_str(), 1);
  return root;
}

/// Samples per (benchmark name, thread count), one per repetition.
using Samples = std::map<std::pair<std::string, int>, std::vector<double>>;

/// The median sample of (name, threads); 0 when there is none.
inline double median_of(const Samples& samples, const std::string& name, int threads) {
  auto found = samples.find({name, threads});
  if (found == samples.end()) return 0.0;
  std::vector<double> values = found->second;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

/// The console table, plus every run's items/s and CPU seconds per item kept per
/// (benchmark function, threads), so ratios can be printed after the table.
class RateReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.error_occurred || run.run_type != Run::RT_Iteration) continue;
      auto rate = run.counters.find("items_per_second");
      if (rate == run.counters.end()) continue;
      const std::pair<std::string, int> key{run.run_name.function_name,
                                            static_cast<int>(run.threads)};
      rates_[key].push_back(rate->second.value);
      // CPU seconds per item over all threads: what the code costs, robust against
      // other processes taking the shared cores (real time is not).
      cpu_[key].push_back(run.GetAdjustedCPUTime() * 1e-9);
    }
    ConsoleReporter::ReportRuns(runs);
  }
  /// Medians over the repetitions; 0 when (name, threads) did not run.
  double rate(const std::string& name, int threads) const {
    return median_of(rates_, name, threads);
  }
  double cpu_seconds(const std::string& name, int threads) const {
    return median_of(cpu_, name, threads);
  }

 private:
  Samples rates_;
  Samples cpu_;
};

}  // namespace medledger::bench
