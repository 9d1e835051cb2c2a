// The report of `medledger bench`: text for people, JSON for scripts. Both carry
// the same numbers (docs/PERFORMANCE.md shows the format).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

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

}  // namespace medledger::app::bench
