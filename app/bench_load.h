// The load engine of `medledger bench` (plain C++; the HTTPS work is done by
// net::HttpsConnectionPool): schedules operations open-loop at a fixed rate or
// closed-loop at the maximum, and measures each one.
//
// Open loop: operation i is due at start + i/rate whatever happened before, and its
// latency is measured from that due time, not from when it was sent. A server that
// stalls therefore shows its stall in every request scheduled behind it (no
// coordinated omission). Closed loop: each connection sends its next request as
// soon as the previous answer arrives; latency is measured from the send.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "medledger/net/https_client.h"

namespace medledger::app::bench {

enum class OperationKind { kWrite, kRead };
inline constexpr std::size_t kOperationKinds = 2;

/// Builds the request for the n-th operation of a kind (n counts from 0 per kind).
using RequestFactory = std::function<net::HttpsRequest(OperationKind kind, std::uint64_t n)>;

struct LoadPlan {
  std::optional<double> rate;  // operations/s (open loop); nullopt: closed loop at the maximum
  std::chrono::milliseconds duration{10'000};
  // Load at the same rate (or the same closed loop) before the measured duration,
  // not measured: the server's per-thread token sessions, caches and allocator
  // reach their steady state (as a ramp-up in Caliper or JMeter).
  std::chrono::milliseconds ramp_up{0};
  unsigned write_weight = 1;  // the mix: of every write_weight + read_weight operations,
  unsigned read_weight = 1;   // the first write_weight are writes
  std::chrono::milliseconds drain_timeout{
      30'000};           // after the schedule ends, wait this long for answers
  bool progress = true;  // one line on stderr per second
};

/// What one kind of operation did.
struct OperationStats {
  std::uint64_t count = 0;  // completed: ok + errors (not-completed ones are errors too)
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  std::vector<double> latencies_ms;  // of every completed operation, ok or not
};

struct LoadResult {
  OperationStats by_kind[kOperationKinds];
  std::map<std::string, std::uint64_t>
      errors_by_code;    // stable code, or HTTP_<status> if the body had none
  double elapsed_s = 0;  // from the first due time to the last answer
  std::uint64_t scheduled = 0;
  std::uint64_t not_completed = 0;       // still unanswered after drain_timeout (counted as errors)
  std::uint64_t ramp_up_operations = 0;  // due before the measured duration: in none of the above
  std::uint64_t ramp_up_errors = 0;      // of those, not ok (the report says so)
};

/// The stable error code of an answer: "" for a 2xx, the body's error.code for
/// an error status (HTTP_<status> if the body has none), the client's code otherwise.
std::string error_code_of(const core::Result<net::HttpsResponse>& answer);

/// Runs the plan through `pool`. Blocks for about duration (+ drain). The factory is
/// called on this thread (open loop) or on the pool's I/O thread (closed loop).
LoadResult run_load(net::HttpsConnectionPool& pool, std::size_t connections, const LoadPlan& plan,
                    const RequestFactory& factory);

struct LatencySummary {
  double p50 = 0, p95 = 0, p99 = 0, max = 0, mean = 0;
};
/// Nearest-rank percentiles of `latencies_ms` (sorted in place); zeros if empty.
LatencySummary summarize(std::vector<double>& latencies_ms);

}  // namespace medledger::app::bench
