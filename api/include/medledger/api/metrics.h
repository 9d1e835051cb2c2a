// Metrics: a small thread-safe registry of counters, gauges and histograms,
// rendered in the Prometheus text exposition format (version 0.0.4) by GET /metrics.
//
// Other modules count through it too (commits, token operations):
//
//     metrics.add("medledger_ledger_commits_total");
//     metrics.add("medledger_token_operations_total", {{"op", "sign"}, {"result", "ok"}});
//
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]*; label values are escaped on output.
// Every family has a bound on its label sets (kMaxSeriesPerFamily) so a client
// cannot grow memory by sending many distinct paths: routes, never raw paths, are labels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace medledger::api {

using Labels = std::vector<std::pair<std::string, std::string>>;

/// Series per metric family beyond which new label sets are folded into one
/// series labelled overflow="true" (bounded memory, visible in the output).
inline constexpr std::size_t kMaxSeriesPerFamily = 512;

/// Request latency buckets in seconds (upper bounds; +Inf is implicit).
inline constexpr double kLatencyBucketsSeconds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

// The families the server and the node write (docs/api.md lists them).
namespace metric {
inline constexpr const char* kRequests = "medledger_http_requests_total";  // {method,route,status}
inline constexpr const char* kRequestSeconds =
    "medledger_http_request_duration_seconds";  // {route}
inline constexpr const char* kInFlight = "medledger_http_requests_in_flight";
inline constexpr const char* kErrors = "medledger_http_errors_total";  // {code}
inline constexpr const char* kConnections = "medledger_http_connections_open";
inline constexpr const char* kConnectionsRefused = "medledger_http_connections_refused_total";
inline constexpr const char* kConnectionsTimedOut =
    "medledger_http_connections_timed_out_total";  // {phase}
inline constexpr const char* kCommits = "medledger_ledger_commits_total";
inline constexpr const char* kTokenOperations = "medledger_token_operations_total";  // {op,result}
}  // namespace metric

class MetricsRegistry;
/// Declares the families above with their help text, so /metrics shows them
/// (at zero) before the first event.
void describe_standard_metrics(MetricsRegistry& registry);

class MetricsRegistry {
 public:
  /// Declares a family's help text and type ("counter", "gauge", "histogram").
  /// Optional: undeclared families are rendered with their type inferred from use.
  void describe(std::string_view name, std::string_view type, std::string_view help);

  /// Adds `by` to a counter. Cost: one mutex and a map lookup.
  void add(std::string_view name, const Labels& labels = {}, std::uint64_t by = 1);
  /// Moves a gauge by `delta` (negative to decrease).
  void adjust_gauge(std::string_view name, std::int64_t delta, const Labels& labels = {});
  /// Records one observation of `seconds` in a histogram with kLatencyBucketsSeconds.
  void observe_seconds(std::string_view name, double seconds, const Labels& labels = {});

  /// The current value of a counter or gauge (0 if absent): for tests and /healthz.
  double value(std::string_view name, const Labels& labels = {}) const;

  /// Every family in the Prometheus text format, families and series sorted.
  std::string render_prometheus() const;

 private:
  struct Histogram {
    std::vector<std::uint64_t> buckets;  // cumulative counts are computed on render
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    std::string type;  // counter, gauge, histogram
    std::string help;
    std::map<Labels, double> values;
    std::map<Labels, Histogram> histograms;
  };
  Family& family(std::string_view name, std::string_view type);
  static const Labels& bounded(const Family& family, const Labels& labels, std::size_t series);

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace medledger::api
