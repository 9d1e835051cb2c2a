// The report of `medledger bench`: text for people, JSON for scripts. Both carry
// the same numbers (docs/PERFORMANCE.md shows the format).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "bench_load.h"

namespace medledger::app::bench {

/// What the run was asked to do.
struct ReportHeader {
  std::string url;
  std::optional<double> rate;  // nullopt: closed loop (--max)
  std::size_t connections = 0;
  unsigned duration_s = 0;
  unsigned write_weight = 0;
  unsigned read_weight = 0;
  std::size_t warmup_records = 0;
  double warmup_seconds = 0;
  unsigned ramp_up_s = 0;  // load before the measured duration, not measured
};

/// A table: per kind (writes, reads, all) count, ok, errors, ok/s and latency
/// p50/p95/p99/max in ms; then the errors by code. Sorts the latencies in place.
std::string report_text(const ReportHeader& header, LoadResult& result);

/// The same as one JSON object (schema in docs/PERFORMANCE.md). Sorts latencies in place.
std::string report_json(const ReportHeader& header, LoadResult& result);

/// Answered-ok operations of every kind per second of the run.
double total_throughput(const LoadResult& result);

/// A session of consecutive runs (`--repeat`, `--rate-of-max`): the optional closed-loop
/// run that measured the maximum, then every measured run in order.
struct RepeatedRuns {
  std::optional<ReportHeader> maximum_header;
  std::optional<LoadResult> maximum;
  std::vector<ReportHeader> headers;  // one per run
  std::vector<LoadResult> runs;
  // The spread says in how many runs p99 stayed under it with no errors.
  std::optional<double> p99_target_ms;
};

/// Every run's table ("run i of N"), then the spread: per kind min / median / max of
/// ok/s and of p99 over the runs, and the runs that met the p99 target.
std::string repeated_report_text(RepeatedRuns& session);

/// {"maximum": report|null, "runs": [report...], "spread": {...}} (docs/PERFORMANCE.md).
std::string repeated_report_json(RepeatedRuns& session);

}  // namespace medledger::app::bench
