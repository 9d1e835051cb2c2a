#include "bench_report.h"

#include <algorithm>
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

namespace {

boost::json::object report_object(const ReportHeader& header, LoadResult& result) {
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
  return report;
}

struct Spread {
  double min = 0, median = 0, max = 0;
};

// Nearest-rank median (the lower middle of an even count): a figure one run really had.
Spread spread_of(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  return {values.front(), values[(values.size() - 1) / 2], values.back()};
}

struct LineSpread {
  std::string name;
  Spread throughput, p99;
  std::size_t runs_under_target = 0;
};

// Per line (writes, reads, all) over the runs; lines no run had (e.g. reads of a 1:0 mix)
// are left out.
std::vector<LineSpread> spreads_of(RepeatedRuns& session) {
  std::vector<LineSpread> spreads;
  std::vector<std::vector<Line>> per_run;
  for (LoadResult& run : session.runs) per_run.push_back(lines_of(run));
  if (per_run.empty()) return spreads;
  for (std::size_t i = 0; i < per_run.front().size(); ++i) {
    LineSpread spread;
    spread.name = per_run.front()[i].name;
    std::vector<double> throughputs, p99s;
    std::uint64_t count = 0;
    for (const auto& lines : per_run) {
      throughputs.push_back(lines[i].throughput);
      p99s.push_back(lines[i].latency.p99);
      count += lines[i].count;
      // A run without answers or with errors has not met a latency target.
      if (session.p99_target_ms && lines[i].count > 0 && lines[i].errors == 0 &&
          lines[i].latency.p99 < *session.p99_target_ms)
        ++spread.runs_under_target;
    }
    if (count == 0) continue;
    spread.throughput = spread_of(throughputs);
    spread.p99 = spread_of(p99s);
    spreads.push_back(spread);
  }
  return spreads;
}

}  // namespace

double total_throughput(const LoadResult& result) {
  std::uint64_t ok = 0;
  for (const OperationStats& stats : result.by_kind) ok += stats.ok;
  return result.elapsed_s > 0 ? static_cast<double>(ok) / result.elapsed_s : 0;
}

std::string report_json(const ReportHeader& header, LoadResult& result) {
  return boost::json::serialize(report_object(header, result)) + "\n";
}

std::string repeated_report_text(RepeatedRuns& session) {
  std::string out;
  if (session.maximum) {
    out += "maximum (closed loop, sets the rate of the runs below)\n";
    out += report_text(*session.maximum_header, *session.maximum);
    out += "\n";
  }
  const std::size_t n = session.runs.size();
  for (std::size_t i = 0; i < n; ++i) {
    out += "run " + std::to_string(i + 1) + " of " + std::to_string(n) + "\n";
    out += report_text(session.headers[i], session.runs[i]);
    out += "\n";
  }
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, "spread over %zu runs (min / median / max)\n", n);
  out += buffer;
  std::snprintf(buffer, sizeof buffer, "%-8s %32s %32s%s\n", "", "ok/s", "p99 ms",
                session.p99_target_ms ? "  p99 under target" : "");
  out += buffer;
  for (const LineSpread& line : spreads_of(session)) {
    std::snprintf(buffer, sizeof buffer, "%-8s %10.1f %10.1f %10.1f %10.2f %10.2f %10.2f",
                  line.name.c_str(), line.throughput.min, line.throughput.median,
                  line.throughput.max, line.p99.min, line.p99.median, line.p99.max);
    out += buffer;
    if (session.p99_target_ms) {
      std::snprintf(buffer, sizeof buffer, "  %zu of %zu (< %.1f ms)", line.runs_under_target, n,
                    *session.p99_target_ms);
      out += buffer;
    }
    out += "\n";
  }
  return out;
}

std::string repeated_report_json(RepeatedRuns& session) {
  boost::json::object report;
  report["maximum"] =
      session.maximum ? boost::json::value(report_object(*session.maximum_header, *session.maximum))
                      : boost::json::value(nullptr);
  boost::json::array runs;
  for (std::size_t i = 0; i < session.runs.size(); ++i)
    runs.push_back(report_object(session.headers[i], session.runs[i]));
  report["runs"] = std::move(runs);
  boost::json::object spread;
  for (const LineSpread& line : spreads_of(session)) {
    boost::json::object entry{
        {"throughput_per_s",
         {{"min", line.throughput.min},
          {"median", line.throughput.median},
          {"max", line.throughput.max}}},
        {"p99_ms", {{"min", line.p99.min}, {"median", line.p99.median}, {"max", line.p99.max}}},
    };
    if (session.p99_target_ms) entry["runs_p99_under_target"] = line.runs_under_target;
    spread[line.name] = std::move(entry);
  }
  report["spread"] = std::move(spread);
  report["p99_target_ms"] = session.p99_target_ms ? boost::json::value(*session.p99_target_ms)
                                                  : boost::json::value(nullptr);
  return boost::json::serialize(report) + "\n";
}

}  // namespace medledger::app::bench
