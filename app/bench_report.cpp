#include "bench_report.h"

#include <cstdio>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace medledger::app::bench {

namespace {

struct Line {
  const char* name = "";
  std::uint64_t count = 0, ok = 0, errors = 0;
  double throughput = 0;
  LatencySummary latency;
};

// Per kind, then "all" (every latency of the run together).
std::vector<Line> lines_of(LoadResult& result) {
  std::vector<Line> lines;
  std::vector<double> all;
  const char* names[kOperationKinds] = {"writes", "reads"};
  Line total;
  total.name = "all";
  for (std::size_t kind = 0; kind < kOperationKinds; ++kind) {
    OperationStats& stats = result.by_kind[kind];
    Line line;
    line.name = names[kind];
    line.count = stats.count;
    line.ok = stats.ok;
    line.errors = stats.errors;
    line.throughput = result.elapsed_s > 0 ? static_cast<double>(stats.ok) / result.elapsed_s : 0;
    all.insert(all.end(), stats.latencies_ms.begin(), stats.latencies_ms.end());
    line.latency = summarize(stats.latencies_ms);
    total.count += line.count;
    total.ok += line.ok;
    total.errors += line.errors;
    lines.push_back(line);
  }
  total.throughput = result.elapsed_s > 0 ? static_cast<double>(total.ok) / result.elapsed_s : 0;
  total.latency = summarize(all);
  lines.push_back(total);
  return lines;
}

std::string mode_text(const ReportHeader& header) {
  char text[64];
  if (header.rate)
    std::snprintf(text, sizeof text, "open loop at %.1f/s", *header.rate);
  else
    std::snprintf(text, sizeof text, "closed loop (maximum)");
  return text;
}

}  // namespace

std::string report_text(const ReportHeader& header, LoadResult& result) {
  std::string out;
  char buffer[256];
  std::snprintf(buffer, sizeof buffer,
                "medledger bench  %s  %s, %zu connections, %u s, mix %u:%u (writes:reads)\n",
                header.url.c_str(), mode_text(header).c_str(), header.connections,
                header.duration_s, header.write_weight, header.read_weight);
  out += buffer;
  std::snprintf(
      buffer, sizeof buffer,
      "warm-up: %zu records in %.2f s; ramp-up: %u s, %llu operations (%llu errors), not measured; "
      "measured: %.2f s, %llu operations scheduled\n",
      header.warmup_records, header.warmup_seconds, header.ramp_up_s,
      static_cast<unsigned long long>(result.ramp_up_operations),
      static_cast<unsigned long long>(result.ramp_up_errors), result.elapsed_s,
      static_cast<unsigned long long>(result.scheduled));
  out += buffer;
  std::snprintf(buffer, sizeof buffer, "%-8s %10s %10s %8s %10s %9s %9s %9s %9s\n", "", "count",
                "ok", "errors", "ok/s", "p50 ms", "p95 ms", "p99 ms", "max ms");
  out += buffer;
  for (const Line& line : lines_of(result)) {
    std::snprintf(
        buffer, sizeof buffer, "%-8s %10llu %10llu %8llu %10.1f %9.2f %9.2f %9.2f %9.2f\n",
        line.name, static_cast<unsigned long long>(line.count),
        static_cast<unsigned long long>(line.ok), static_cast<unsigned long long>(line.errors),
        line.throughput, line.latency.p50, line.latency.p95, line.latency.p99, line.latency.max);
    out += buffer;
  }
  if (result.errors_by_code.empty()) {
    out += "errors: none\n";
  } else {
    out += "errors:";
    for (const auto& [code, count] : result.errors_by_code) {
      out += " " + code + "=" + std::to_string(count);
    }
    out += "\n";
  }
  return out;
}

std::string report_json(const ReportHeader& header, LoadResult& result) {
  boost::json::object report;
  report["url"] = header.url;
  report["mode"] = header.rate ? "open-loop" : "closed-loop";
  report["target_rate"] =
      header.rate ? boost::json::value(*header.rate) : boost::json::value(nullptr);
  report["connections"] = header.connections;
  report["duration_s"] = header.duration_s;
  report["mix"] = {{"writes", header.write_weight}, {"reads", header.read_weight}};
  report["warmup"] = {{"records", header.warmup_records}, {"seconds", header.warmup_seconds}};
  report["ramp_up"] = {{"seconds", header.ramp_up_s},
                       {"operations", result.ramp_up_operations},
                       {"errors", result.ramp_up_errors}};
  report["elapsed_s"] = result.elapsed_s;
  report["scheduled"] = result.scheduled;
  report["not_completed"] = result.not_completed;
  boost::json::object operations;
  for (const Line& line : lines_of(result)) {
    operations[line.name] = {
        {"count", line.count},
        {"ok", line.ok},
        {"errors", line.errors},
        {"throughput_per_s", line.throughput},
        {"latency_ms",
         {{"p50", line.latency.p50},
          {"p95", line.latency.p95},
          {"p99", line.latency.p99},
          {"max", line.latency.max},
          {"mean", line.latency.mean}}},
    };
  }
  report["operations"] = std::move(operations);
  boost::json::object errors;
  for (const auto& [code, count] : result.errors_by_code) errors[code] = count;
  report["errors"] = std::move(errors);
  return boost::json::serialize(report) + "\n";
}

}  // namespace medledger::app::bench
