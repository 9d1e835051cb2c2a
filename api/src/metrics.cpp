#include "medledger/api/metrics.h"

#include <cmath>
#include <cstdio>
#include <iterator>

#include "medledger/core/assert.h"

namespace medledger::api {

namespace {
const Labels kOverflowLabels{{"overflow", "true"}};
constexpr std::size_t kBucketCount = std::size(kLatencyBucketsSeconds);

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

std::string format_number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.9g", value);
  }
  return buffer;
}

// Label values escape backslash, double quote and newline (exposition format).
void append_escaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

std::string render_labels(const Labels& labels, const char* extra_name = nullptr,
                          const std::string& extra_value = {}) {
  if (labels.empty() && extra_name == nullptr) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    append_escaped(out, value);
    out += '"';
  }
  if (extra_name != nullptr) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}
}  // namespace

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, std::string_view type) {
  MEDLEDGER_ASSERT(valid_name(name));
  auto it = families_.find(name);
  if (it == families_.end())
    it = families_.emplace(std::string(name), Family{std::string(type), {}, {}, {}}).first;
  return it->second;
}

const Labels& MetricsRegistry::bounded(const Family& family, const Labels& labels,
                                       std::size_t series) {
  bool known = family.values.count(labels) != 0 || family.histograms.count(labels) != 0;
  if (known || series < kMaxSeriesPerFamily) return labels;
  return kOverflowLabels;
}

void MetricsRegistry::describe(std::string_view name, std::string_view type,
                               std::string_view help) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, type);
  f.type = std::string(type);
  f.help = std::string(help);
}

void MetricsRegistry::add(std::string_view name, const Labels& labels, std::uint64_t by) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, "counter");
  f.values[bounded(f, labels, f.values.size())] += static_cast<double>(by);
}

void MetricsRegistry::adjust_gauge(std::string_view name, std::int64_t delta,
                                   const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, "gauge");
  f.values[bounded(f, labels, f.values.size())] += static_cast<double>(delta);
}

void MetricsRegistry::observe_seconds(std::string_view name, double seconds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, "histogram");
  Histogram& h = f.histograms[bounded(f, labels, f.histograms.size())];
  if (h.buckets.empty()) h.buckets.assign(kBucketCount, 0);
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    if (seconds <= kLatencyBucketsSeconds[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

double MetricsRegistry::value(std::string_view name, const Labels& labels) const {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto v = it->second.values.find(labels);
  return v == it->second.values.end() ? 0 : v->second;
}

std::string MetricsRegistry::render_prometheus() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, value] : f.values) {
      out += name + render_labels(labels) + " " + format_number(value) + "\n";
    }
    for (const auto& [labels, h] : f.histograms) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < kBucketCount; ++i) {
        cumulative += h.buckets[i];
        out += name + "_bucket" +
               render_labels(labels, "le", format_number(kLatencyBucketsSeconds[i])) + " " +
               std::to_string(cumulative) + "\n";
      }
      out += name + "_bucket" + render_labels(labels, "le", "+Inf") + " " +
             std::to_string(h.count) + "\n";
      out += name + "_sum" + render_labels(labels) + " " + format_number(h.sum) + "\n";
      out += name + "_count" + render_labels(labels) + " " + std::to_string(h.count) + "\n";
    }
  }
  return out;
}

void describe_standard_metrics(MetricsRegistry& registry) {
  registry.describe(metric::kRequests, "counter",
                    "HTTPS requests answered, by method, route and status");
  registry.describe(metric::kRequestSeconds, "histogram",
                    "Time from a complete request to its response, by route");
  registry.describe(metric::kInFlight, "gauge", "Requests being handled or written");
  registry.describe(metric::kErrors, "counter", "Error responses by stable error code");
  registry.describe(metric::kConnections, "gauge", "Open client connections");
  registry.describe(metric::kConnectionsRefused, "counter",
                    "Connections closed at accept: over limits.max_connections or stopping");
  registry.describe(metric::kConnectionsTimedOut, "counter",
                    "Connections closed by a timeout, by phase");
  registry.describe(metric::kCommits, "counter", "Ledger blocks durably committed");
  registry.describe(metric::kTokenOperations, "counter",
                    "PKCS#11 token operations by operation and result");
  registry.adjust_gauge(metric::kInFlight, 0);
  registry.adjust_gauge(metric::kConnections, 0);
  registry.add(metric::kConnectionsRefused, {}, 0);
  registry.add(metric::kCommits, {}, 0);
}

}  // namespace medledger::api
